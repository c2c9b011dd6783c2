// Explicit stage maps (ModelSpec::stage_map): regroup the stages of a grouping into the stages a
// scenario names, e.g. the ADEL-FL authors' VGG11 with L = 11 (its 9 blocks plus 2 stages
// without parameters after the classifier; models/vgg11-paper.yaml).
#include <string>

#include "nn/model.hpp"
#include "util/error.hpp"

namespace fedgrid::nn {

void Model::apply_stage_map(const ModelSpec& spec) {
  const auto fail = [&](const std::string& expected, const std::string& found) {
    util::throw_input_error(spec.file, spec.stage_map_line, "stage_map", expected, found);
  };
  long long total = 0;
  for (int c : spec.stage_map) total += c;
  if (total != static_cast<long long>(stages_.size())) {
    fail("counts summing to the " + std::to_string(stages_.size()) + " stages of the grouping",
         "a sum of " + std::to_string(total));
  }
  std::vector<Stage> out;
  std::vector<int> new_of(stages_.size(), -1);  // grouping stage -> mapped stage
  std::size_t next = 0;
  for (std::size_t j = 0; j < spec.stage_map.size(); ++j) {
    const int count = spec.stage_map[j];
    if (count == 0) {  // no parameters: at the offset where the next stage starts
      const std::size_t off = next < stages_.size() ? stages_[next].offset
                                                    : stages_.back().offset + stages_.back().size;
      out.push_back({"empty-" + std::to_string(j), off, 0, 0.0, 0});
      continue;
    }
    Stage s = stages_[next];
    for (int i = 1; i < count; ++i) {
      const Stage& t = stages_[next + i];
      // Running statistics stay the trailing part of a stage: after them, only more statistics.
      if (s.statistics > 0 && t.statistics < t.size) {
        fail("running statistics only in the last part of a stage (stage " + std::to_string(j) +
                 " joins " + s.name + " and " + t.name + ")",
             "statistics before trained parameters");
      }
      s.name += "+" + t.name;
      s.size += t.size;
      s.statistics += t.statistics;
    }
    for (int i = 0; i < count; ++i) new_of[next + i] = static_cast<int>(j);
    next += count;
    out.push_back(s);
  }
  const auto remap = [&](int& id) {
    if (id >= 0) id = new_of[id];
  };
  for (LayerStages& st : layer_stages_) {
    remap(st.weight_stage);
    remap(st.bias_stage);
    remap(st.mean_stage);
    remap(st.var_stage);
    remap(st.max_stage_before);
  }
  stages_ = std::move(out);
}

}  // namespace fedgrid::nn
