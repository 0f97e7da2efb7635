#include "catalog/image_contract.hpp"

#include <vector>

#include <fmt/format.h>

namespace gpupool::catalog {

namespace {

// "1.13.1" carries "1.13" (and "1"): the tag's version is a prefix of the found one, by parts.
bool version_carries(std::string_view found, std::string_view tagged) {
  if (found.empty()) return false;
  auto plus = found.find_first_of("+ ");  // "2.7.0+cu118"
  found = found.substr(0, plus);
  if (found.size() < tagged.size() || found.substr(0, tagged.size()) != tagged) return false;
  return found.size() == tagged.size() || found[tagged.size()] == '.';
}

std::string found_versions(const ImageCheckReport& found) {
  std::vector<std::string> parts;
  if (!found.python.empty()) parts.push_back("Python " + found.python);
  if (!found.jupyterlab.empty()) parts.push_back("JupyterLab " + found.jupyterlab);
  if (!found.notebook.empty()) parts.push_back("Jupyter Notebook " + found.notebook);
  if (!found.code_server.empty()) parts.push_back("code-server " + found.code_server);
  if (!found.torch.empty())
    parts.push_back(fmt::format("torch {} ({})", found.torch,
                                found.torch_cuda.empty() ? "CPU" : "CUDA " + found.torch_cuda));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Why the image cannot run sessions as its tag promises; "" when it can.
std::string contract_failure(const ImageTag& tag, const ImageCheckReport& found) {
  if (!found.error.empty()) return found.error;
  if (found.python.empty())
    return "no python3 in the image: sessions need Python 3 with Jupyter Notebook";
  if (found.notebook.empty() && found.jupyterlab.empty())
    return "no Jupyter in the image: python3 can import neither jupyterlab nor notebook (install "
           "one, e.g. pip install jupyterlab)";
  if (!found.setpriv)
    return "no setpriv in the image: the session's start cannot drop to the user (install "
           "util-linux)";
  if (tag.framework != "pytorch") return "";
  std::string tagged = fmt::format("pytorch{}", tag.framework_version);
  if (found.torch.empty()) return fmt::format("tagged {} but python3 cannot import torch", tagged);
  if (!version_carries(found.torch, tag.framework_version))
    return fmt::format("tagged {} but the image has torch {}", tagged, found.torch);
  if (tag.cuda.empty() && !found.torch_cuda.empty())
    return fmt::format("tagged cpu but torch is built for CUDA {}", found.torch_cuda);
  if (!tag.cuda.empty() && found.torch_cuda.empty())
    return fmt::format("tagged cuda{} but torch is built without CUDA", tag.cuda);
  if (!tag.cuda.empty() && !version_carries(found.torch_cuda, tag.cuda))
    return fmt::format("tagged cuda{} but torch is built for CUDA {}", tag.cuda, found.torch_cuda);
  return "";
}

}  // namespace

ContractVerdict judge_contract(const ImageTag& tag, const ImageCheckReport& found) {
  ContractVerdict verdict;
  ImageCheck& check = verdict.check;
  check.python = found.python;
  check.notebook = found.notebook;
  check.jupyterlab = found.jupyterlab;
  check.code_server = found.code_server;
  check.torch = found.torch;
  check.torch_cuda = found.torch_cuda;
  std::string failure = contract_failure(tag, found);
  if (!failure.empty()) {
    check.state = CheckState::failed;
    check.message = failure;
    return verdict;
  }
  check.state = CheckState::passed;
  verdict.ssh = found.sshd;
  check.message = found_versions(found);
  if (!found.sshd)
    check.message += "; no SSH server (openssh-server) in the image: its sessions have no SSH";
  if (!tag.framework.empty() && tag.framework != "pytorch")
    check.message += fmt::format("; {} {} not verified", tag.framework, tag.framework_version);
  return verdict;
}

Status check_state_change(const Image& image, ImageState to) {
  ImageState from = image.state;
  if (from == to) return {};
  auto refuse = [&](std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("image \"{}\" cannot go from {} to {}: {}", image.tag,
                                  to_string(from), to_string(to), why));
  };
  if (from == ImageState::retired) return refuse("a retired image stays retired");
  bool for_users = to == ImageState::canary || to == ImageState::stable;
  if (for_users && image.check.state == CheckState::pending)
    return refuse("its contract check has not run yet");
  if (for_users && image.check.state == CheckState::failed)
    return refuse("it failed its contract check (" + image.check.message + ")");
  if (to == ImageState::testing && from != ImageState::canary)
    return refuse("only a canary goes back to testing");
  if (to == ImageState::canary && from != ImageState::testing)
    return refuse("only an image in testing becomes a canary");
  if (to == ImageState::deprecated && from == ImageState::testing)
    return refuse("an image in testing is retired, not deprecated");
  return {};
}

}  // namespace gpupool::catalog
