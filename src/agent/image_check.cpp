#include "agent/image_check.hpp"

#include <cctype>

#include <fmt/format.h>

#include "agent/session_container.hpp"
#include "agent/throwaway_container.hpp"
#include "core/log.hpp"

namespace gpupool::agent {

namespace {

using namespace std::chrono_literals;

constexpr const char* kOutputPath = "/tmp/gpupool-image-check";
constexpr const char* kCheckLabel = "io.gpupool.image-check";

// Run as nobody with HOME=/tmp. Every answer is one line, cut to 64 characters; the file
// appears whole (mv) or not at all.
constexpr const char* kCheckScript = R"script(out=/tmp/gpupool-image-check
py() { python3 -c "$1" 2>/dev/null | head -n 1 | cut -c 1-64; }
{
  printf 'python=%s\n' "$(py 'import sys; print(sys.version.split()[0])')"
  printf 'notebook=%s\n' "$(py 'import notebook; print(notebook.__version__)')"
  printf 'jupyterlab=%s\n' "$(py 'import jupyterlab; print(jupyterlab.__version__)')"
  if command -v code-server >/dev/null 2>&1; then
    # "4.89.1 <commit> with Code 1.89.1", after a line of its own on a first run
    printf 'code_server=%s\n' "$(code-server --version 2>/dev/null | grep -m 1 '^[0-9]' | cut -d ' ' -f 1 | cut -c 1-64)"
  fi
  printf 'torch=%s\n' "$(py 'import torch; print(torch.__version__, torch.version.cuda or "")')"
  if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then echo sshd=yes; else echo sshd=no; fi
  if command -v setpriv >/dev/null 2>&1; then echo setpriv=yes; else echo setpriv=no; fi
} > "$out.part" && mv "$out.part" "$out"
)script";

// Version text: digits, letters, dots, plus, minus, underscore; anything else is dropped.
std::string version_text(std::string_view value) {
  if (value.size() > 64) return "";
  for (char c : value) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '+' ||
                 c == '-' || c == '_';
    if (!plain) return "";
  }
  return std::string(value);
}

std::string container_name_for(const std::string& node_name) {
  return "gpupool-image-check-" + node_name;
}

ImageCheckReport failed(const ImageCheckOrder& order, std::string why) {
  ImageCheckReport report{order.tag, order.image.reference};
  report.error = std::move(why);
  return report;
}

}  // namespace

ImageCheckReport parse_image_check_output(const ImageCheckOrder& order, std::string_view text) {
  ImageCheckReport report{order.tag, order.image.reference};
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = line.substr(0, equals);
    std::string_view value = line.substr(equals + 1);
    if (key == "python") report.python = version_text(value);
    if (key == "notebook") report.notebook = version_text(value);
    if (key == "jupyterlab") report.jupyterlab = version_text(value);
    if (key == "code_server") report.code_server = version_text(value);
    if (key == "torch") {
      auto space = value.find(' ');
      report.torch = version_text(value.substr(0, space));
      if (space != std::string_view::npos)
        report.torch_cuda = version_text(value.substr(space + 1));
    }
    if (key == "sshd") report.sshd = value == "yes";
    if (key == "setpriv") report.setpriv = value == "yes";
  }
  return report;
}

ImageCheckReport run_image_check(ContainerEngine& engine, const ImageCheckOrder& order,
                                 const std::string& node_name, const std::atomic<bool>& stopping,
                                 const ImageCheckLimits& limits) {
  const std::string& reference = order.image.reference;
  auto present = engine.image_present(reference);
  if (!present)
    return failed(order, "cannot ask the engine for the image: " + present.error().message);
  if (!*present) {
    spdlog::info("agent: pulling {} to check it", reference);
    auto pulled =
        engine.pull_image(reference, {order.image.registry_username, order.image.registry_password},
                          [&](const std::string&) { return !stopping; });
    if (!pulled) return failed(order, "cannot pull the image: " + pulled.error().message);
  }

  std::string name = container_name_for(node_name);
  (void)engine.remove_container(name);  // a check an agent crash cut short
  ContainerSpec spec;
  spec.name = name;
  spec.image = reference;
  spec.command = {"/bin/sh", "-c", kCheckScript};
  spec.env = {"HOME=/tmp"};
  spec.labels = {{kNodeLabel, node_name}, {kCheckLabel, order.tag}};
  spec.user = "65534:65534";
  spec.memory_bytes = limits.memory_bytes;
  spec.nano_cpus = 1'000'000'000;
  spec.pids_limit = 256;
  spec.network = "none";
  spec.log_max_bytes = 1 << 20;
  auto created = engine.create_container(spec);
  if (!created) return failed(order, "cannot create a container of it: " + created.error().message);
  ImageCheckReport report;
  if (auto started = engine.start_container(*created); !started) {
    report = failed(
        order, "it does not start (a session image needs /bin/sh): " + started.error().message);
  } else if (auto exited = wait_for_exit(engine, *created, stopping, limits.run_time); !exited) {
    report = failed(order, "the check: " + exited.error().message);
  } else if (auto output = engine.read_file(*created, kOutputPath); !output) {
    report = failed(order, fmt::format("the check found no shell tools to run with (exit code {})",
                                       exited->exit_code));
  } else {
    report = parse_image_check_output(order, *output);
  }
  if (auto removed = engine.remove_container(*created); !removed)
    spdlog::warn("agent: cannot remove the check container {}: {}", name, removed.error().message);
  return report;
}

}  // namespace gpupool::agent
