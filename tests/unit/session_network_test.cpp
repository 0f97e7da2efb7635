// Sessions as network islands, the pure parts: IPv4 blocks, the subnet each session gets,
// the Docker documents, the firewall's rules and the commands that install them.
#include <gtest/gtest.h>

#include "agent/session_container.hpp"
#include "agent/session_firewall.hpp"
#include "agent/session_network.hpp"
#include "core/command.hpp"
#include "core/ipv4.hpp"
#include "engine/docker_api/create_body.hpp"
#include "engine/docker_api/network_body.hpp"

namespace gpupool::agent {
namespace {

Ipv4Block block(const std::string& text) {
  auto parsed = parse_ipv4_block(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed ? *parsed : Ipv4Block{};
}

TEST(Ipv4, ParsesAddressesAndBlocksStrictly) {
  EXPECT_EQ(*parse_ipv4("10.213.0.1"), 0x0AD50001u);
  EXPECT_EQ(block("10.213.0.16/28").to_string(), "10.213.0.16/28");
  EXPECT_EQ(block("169.254.169.254").prefix, 32);
  EXPECT_EQ(block("0.0.0.0/0").prefix, 0);
  for (const char* bad :
       {"", "10.213.0", "10.213.0.1.5", "256.0.0.1", "010.0.0.1", "0x1.0.0.1", "10.0.0.1/33",
        "10.0.0.1/", "10.0.0.1/-1", "1.2.3.4 ", "a.b.c.d", "10.213.0.1/16", "fe80::1/64"}) {
    EXPECT_FALSE(parse_ipv4_block(bad).ok()) << bad;
  }
  auto host_bits = parse_ipv4_block("10.213.0.1/16");
  EXPECT_NE(host_bits.error().message.find("10.213.0.0/16"), std::string::npos);
}

TEST(Ipv4, TellsContainmentAndOverlap) {
  EXPECT_TRUE(block("10.213.0.0/16").contains(*parse_ipv4("10.213.255.1")));
  EXPECT_FALSE(block("10.213.0.0/16").contains(*parse_ipv4("10.214.0.1")));
  EXPECT_TRUE(block("0.0.0.0/0").contains(*parse_ipv4("8.8.8.8")));
  EXPECT_TRUE(block("10.213.0.0/16").overlaps(block("10.213.4.16/28")));
  EXPECT_TRUE(block("10.213.4.16/28").overlaps(block("10.0.0.0/8")));
  EXPECT_FALSE(block("10.213.0.0/28").overlaps(block("10.213.0.16/28")));
}

TEST(SessionSubnets, TakesTheFirstBlockNoOtherNetworkOverlaps) {
  auto pool = block("10.213.0.0/16");
  EXPECT_EQ(free_subnet(pool, 28, {})->to_string(), "10.213.0.0/28");
  EXPECT_EQ(free_subnet(pool, 28, {block("10.213.0.0/28"), block("10.213.0.32/28")})->to_string(),
            "10.213.0.16/28");
  // A wider network someone else made covers many of ours at once.
  EXPECT_EQ(free_subnet(pool, 28, {block("10.213.0.0/24")})->to_string(), "10.213.1.0/28");
  auto full =
      free_subnet(block("10.213.0.0/27"), 28, {block("10.213.0.0/28"), block("10.213.0.16/28")});
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message.find("--session-subnets"), std::string::npos);
  EXPECT_FALSE(free_subnet(block("10.213.0.0/29"), 28, {}).ok()) << "a pool smaller than a session";
}

TEST(SessionSubnets, BridgeNamesAreShortDistinctAndCarryThePrefix) {
  auto first = session_bridge_name("sabcdefghijkl");
  EXPECT_EQ(first.size(), 15u) << "Linux interface names hold 15 characters";
  EXPECT_TRUE(first.starts_with(kSessionBridgePrefix));
  EXPECT_NE(first, session_bridge_name("sabcdefghijkm"));
  EXPECT_EQ(session_network_name("s1"), "gpupool-s1");
}

TEST(DockerNetworkBody, IsAnIpv4BridgeWithOurInterfaceNameAndLabels) {
  NetworkSpec spec{"gpupool-s1", "10.213.0.16/28", "gp-0123456789ab", {{kSessionLabel, "s1"}}};
  auto body = docker_api::network_body(spec);
  EXPECT_EQ(body["Driver"], "bridge");
  EXPECT_EQ(body["EnableIPv6"], false);
  EXPECT_EQ(body["IPAM"]["Config"][0]["Subnet"], "10.213.0.16/28");
  EXPECT_EQ(body["Options"]["com.docker.network.bridge.name"], "gp-0123456789ab");
  EXPECT_EQ(body["Labels"][kSessionLabel], "s1");

  auto listed = docker_api::network_info(nlohmann::json::parse(R"({
    "Name": "gpupool-s1", "Labels": {"io.gpupool.session": "s1", "odd": 5},
    "IPAM": {"Config": [{"Subnet": "10.213.0.16/28", "Gateway": "10.213.0.17"}, {"Gateway": "x"}]}
  })"));
  EXPECT_EQ(listed.name, "gpupool-s1");
  EXPECT_EQ(listed.subnets, std::vector<std::string>{"10.213.0.16/28"});
  EXPECT_EQ(listed.labels, (std::map<std::string, std::string>{{kSessionLabel, "s1"}}));
  EXPECT_TRUE(docker_api::network_info(nlohmann::json::parse(R"({"IPAM": null})")).subnets.empty());
}

TEST(DockerCreateBody, AttachesTheSessionToItsOwnNetworkWithoutIpv6) {
  DesiredSession session;
  session.session_id = "sabc";
  session.username = "alice";
  auto body = docker_api::create_body(
      make_session_container(session, {"node-1", "", GpuAttachment::simulated}));
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "gpupool-sabc");
  EXPECT_EQ(body["HostConfig"]["Sysctls"]["net.ipv6.conf.all.disable_ipv6"], "1");
  ContainerSettings no_ipv6_host{"node-1", "", GpuAttachment::simulated};
  no_ipv6_host.disable_ipv6 = false;
  body = docker_api::create_body(make_session_container(session, no_ipv6_host));
  EXPECT_FALSE(body["HostConfig"].contains("Sysctls")) << "a host without IPv6 has no such sysctl";
}

TEST(SessionFirewallRules, RefuseTheHostOtherSessionsAndMetadataButNotReplies) {
  auto rules = firewall_rules({});
  for (const char* line : {
           ":GPUPOOL-SESSION-IN - [0:0]",
           "-A GPUPOOL-SESSION-IN -i gp-+ -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
           "-A GPUPOOL-SESSION-IN -i gp-+ -j REJECT",
           "-A GPUPOOL-SESSION-FWD -i gp-+ -o gp-+ -j REJECT",
           "-A GPUPOOL-SESSION-FWD -i gp-+ -d 169.254.0.0/16 -j REJECT",
       }) {
    EXPECT_NE(rules.find(line), std::string::npos) << line;
  }
  // Replies are let through before anything is refused.
  EXPECT_LT(rules.find("ESTABLISHED,RELATED -j RETURN"), rules.find("-j REJECT"));
  EXPECT_TRUE(rules.ends_with("COMMIT\n"));
  EXPECT_EQ(rules.find("-A GPUPOOL-SESSION-FWD -i gp-+ -j REJECT"), std::string::npos)
      << "the internet is open by default";
}

TEST(SessionFirewallRules, AirGappedAndDeniedBlocksCloseMore) {
  auto rules = firewall_rules({false, {block("192.168.0.0/16")}});
  EXPECT_NE(rules.find("-A GPUPOOL-SESSION-FWD -i gp-+ -d 192.168.0.0/16 -j REJECT"),
            std::string::npos);
  EXPECT_NE(rules.find("-A GPUPOOL-SESSION-FWD -i gp-+ -j REJECT"), std::string::npos);
}

// Records each command; `-C` checks fail until the jump was inserted once.
struct RecordingRunner {
  std::vector<std::vector<std::string>> commands;
  std::string restored;
  std::set<std::string> jumps;
  int restore_exit = 0;

  Result<CommandResult> operator()(const std::vector<std::string>& argv, const std::string& input) {
    commands.push_back(argv);
    if (argv[0] == "iptables-restore") {
      restored = input;
      return CommandResult{restore_exit,
                           restore_exit == 0 ? "" : "Permission denied (you must be root)"};
    }
    auto flag = std::find_if(argv.begin(), argv.end(), [](const std::string& arg) {
      return arg == "-C" || arg == "-I" || arg == "-N";
    });
    std::string jump = argv.back() + " from " + *(flag + 1);
    if (*flag == "-C") return CommandResult{jumps.contains(jump) ? 0 : 1, ""};
    if (*flag == "-I") jumps.insert(jump);
    return CommandResult{0, ""};
  }
};

TEST(IptablesFirewall, InstallsItsChainsAtomicallyAndEachJumpOnce) {
  RecordingRunner runner;
  IptablesFirewall firewall(
      {}, [&](const auto& argv, const auto& input) { return runner(argv, input); });
  ASSERT_TRUE(firewall.ensure().ok());
  ASSERT_TRUE(firewall.ensure().ok());
  EXPECT_EQ(runner.restored, firewall_rules({}));
  EXPECT_EQ(runner.commands[0][0], "iptables-restore");
  EXPECT_NE(std::find(runner.commands[0].begin(), runner.commands[0].end(), "--noflush"),
            runner.commands[0].end())
      << "other programs' rules stay";
  EXPECT_EQ(runner.jumps, (std::set<std::string>{"DOCKER-USER from FORWARD",
                                                 "GPUPOOL-SESSION-FWD from DOCKER-USER",
                                                 "GPUPOOL-SESSION-IN from INPUT"}));
  int inserts = static_cast<int>(std::count_if(
      runner.commands.begin(), runner.commands.end(),
      [](const auto& argv) { return std::find(argv.begin(), argv.end(), "-I") != argv.end(); }));
  EXPECT_EQ(inserts, 3) << "the second ensure finds every jump in place";
}

TEST(IptablesFirewall, AFailedInstallSaysWhy) {
  RecordingRunner runner;
  runner.restore_exit = 4;
  IptablesFirewall firewall(
      {}, [&](const auto& argv, const auto& input) { return runner(argv, input); });
  auto status = firewall.ensure();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("you must be root"), std::string::npos);
  auto missing = IptablesFirewall({}, [](const auto&, const auto& input) {
                   return run_command({"/nonexistent/iptables-restore"}, input);
                 }).ensure();
  EXPECT_FALSE(missing.ok());
}

TEST(RunCommand, FeedsInputAndCollectsOutputAndExitCode) {
  auto echoed = run_command({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n");
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->exit_code, 3);
  EXPECT_EQ(echoed->output, "hello\noops\n");
  // More than a pipe holds, both ways, without either side waiting on the other.
  std::string big(300 * 1000, 'x');
  auto copied = run_command({"cat"}, big);
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(copied->output.size(), 64u * 1024) << "output is capped";
  auto ignoring = run_command({"true"}, big);
  ASSERT_TRUE(ignoring.ok()) << "a program that reads nothing does not kill us with SIGPIPE";
  EXPECT_EQ(ignoring->exit_code, 0);
  EXPECT_FALSE(run_command({"/nonexistent/program"}).ok());
}

}  // namespace
}  // namespace gpupool::agent
