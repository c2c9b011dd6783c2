// A cache of decoded IDX datasets (inflating Fashion-MNIST's gzip files takes ~0.7 s per run):
// labels and pixel bytes as read and validated by read_idx, keyed by each source file's size and
// digest (CRC-32 and Adler-32 of its bytes), with a checksum of the cached content.
#pragma once

#include <optional>
#include <string>

#include "data/dataset.hpp"

namespace fedgrid::data {

// Where the cache lives: $FEDGRID_CACHE_DIR, else $XDG_CACHE_HOME/fedgrid, else
// $HOME/.cache/fedgrid; "" when FEDGRID_CACHE is "0" or "off" (disabled) or no location exists.
std::string cache_dir();

// read_idx(images, labels, num_classes) through the cache: a valid entry for the same source
// bytes is used; a missing, stale, truncated or corrupt one is ignored and rewritten (to a
// temporary name, then renamed: concurrent processes never see a partial file). A cache that
// cannot be written is skipped silently (the data are still read and checked). Errors in the
// source files are those of read_idx.
Dataset read_idx_cached(const std::string& images_path, const std::string& labels_path,
                        int num_classes = 10);

// The cache entry's file for these sources ("" when the cache is off) and its loader (nullopt
// when missing or invalid): for tests.
std::string idx_cache_file(const std::string& images_path, const std::string& labels_path,
                           int num_classes);
std::optional<Dataset> load_idx_cache(const std::string& file, const std::string& images_path,
                                      const std::string& labels_path, int num_classes);

}  // namespace fedgrid::data
