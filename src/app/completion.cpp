#include "app/completion.hpp"

#include <fmt/format.h>

namespace gpupool::app {

namespace {

// One `case` arm per level of subcommands: its options, its subcommands, and whether a
// session id may follow (the level has a positional "id" described as a session's).
void add_levels(const CLI::App& level, const std::string& path, std::string& known_paths,
                std::string& arms) {
  std::string options;
  std::string words;
  bool takes_session = false;
  for (const auto* option : level.get_options()) {
    if (!option->nonpositional()) {
      takes_session = takes_session || (option->get_name() == "id" &&
                                        option->get_description().starts_with("session"));
      continue;
    }
    for (const auto& name : option->get_snames()) options += " -" + name;
    for (const auto& name : option->get_lnames()) options += " --" + name;
  }
  // (Without a filter CLI11 gives the subcommands parsed, not all of them.)
  auto subcommands = level.get_subcommands([](const CLI::App*) { return true; });
  for (const auto* subcommand : subcommands) words += " " + subcommand->get_name();
  arms += fmt::format("    \"{}\") options=\"{}\"; words=\"{}\"; ids={} ;;\n", path,
                      options.empty() ? "" : options.substr(1),
                      words.empty() ? "" : words.substr(1), takes_session ? 1 : 0);
  for (const auto* subcommand : subcommands) {
    std::string below = path + "/" + subcommand->get_name();
    known_paths += (known_paths.empty() ? "" : "|") + below;
    add_levels(*subcommand, below, known_paths, arms);
  }
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  std::string known_paths;
  std::string arms;
  add_levels(app, "", known_paths, arms);
  return fmt::format(R"BASH(# gpupool's completion for bash: eval "$(gpupool completion bash)"
_gpupool() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" word options="" words="" ids=0 i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    case "$path/$word" in
      {}) path="$path/$word" ;;
    esac
  done
  case "$path" in
{}  esac
  # Options once a dash is typed; else subcommands, or the open sessions where an id goes.
  if [[ $cur == -* ]]; then
    words="$options"
  elif [[ $ids == 1 ]]; then
    words="$words $(command "${{COMP_WORDS[0]}}" ls --quiet 2>/dev/null)"
  fi
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}}
complete -o default -F _gpupool gpupool
)BASH",
                     known_paths, arms);
}

std::string zsh_completion(const CLI::App& app) {
  return "#compdef gpupool\n# gpupool's completion for zsh: eval \"$(gpupool completion zsh)\"\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash_completion(app);
}

}  // namespace gpupool::app
