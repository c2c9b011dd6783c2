// Names of the enums as they appear in scenario and result files.
#include "fl/types.hpp"

#include "fl/config.hpp"

namespace fedgrid::fl {

const char* batch_rule_name(BatchRule r) {
  switch (r) {
    case BatchRule::kFixed:
      return "fixed";
    case BatchRule::kPerRound:
      return "per_round";
    case BatchRule::kFirstRound:
      return "first_round";
  }
  return "?";
}

const char* status_name(ClientStatus s) {
  switch (s) {
    case ClientStatus::kFull:
      return "full";
    case ClientStatus::kPartial:
      return "partial";
    case ClientStatus::kDropped:
      return "dropped";
    case ClientStatus::kFailed:
      return "failed";
    case ClientStatus::kOffline:
      return "offline";
  }
  return "?";
}

const char* reason_name(DropReason r) {
  switch (r) {
    case DropReason::kNone:
      return "";
    case DropReason::kDownload:
      return "download";
    case DropReason::kCompute:
      return "compute";
    case DropReason::kIncomplete:
      return "incomplete";
    case DropReason::kUpload:
      return "upload";
    case DropReason::kTimeout:
      return "timeout";
  }
  return "?";
}

}  // namespace fedgrid::fl
