// One function per toolgate subcommand; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace toolgate::cli {

int RunCheck(const std::vector<std::string>& argv);
int RunPolicy(const std::vector<std::string>& argv);  // policy lint FILE | policy suggest ...
int RunPolicySuggest(const std::vector<std::string>& argv);  // policy suggest [--policy FILE] LOGS: grants to review
int RunDemo(const std::vector<std::string>& argv);
int RunBench(const std::vector<std::string>& argv);
int RunLog(const std::vector<std::string>& argv);       // log verify|query|stats|report|export|keygen|bench
int RunLogBench(const std::vector<std::string>& argv);  // log bench
int RunReplay(const std::vector<std::string>& argv);    // replay --policy NEW LOGS
int RunTest(const std::vector<std::string>& argv);      // test [DIR]: rule packs' own cases
int RunProxy(const std::vector<std::string>& argv);       // proxy: the egress proxy in the foreground
int RunProxyBench(const std::vector<std::string>& argv);  // proxy-bench: tunnel throughput and added latency
int RunHook(const std::vector<std::string>& argv);      // hook: a client's hook stdin in, its answer out
int RunMcp(const std::vector<std::string>& argv);       // mcp [...] -- SERVER: the MCP stdio proxy
int RunInstall(const std::vector<std::string>& argv);   // install CLIENT: write the client's hook config
int RunUninstall(const std::vector<std::string>& argv); // uninstall CLIENT: remove toolgate's entries
int RunRun(const std::vector<std::string>& argv);       // run [...] -- CMD: run a command in the OS sandbox
int RunDoctor(const std::vector<std::string>& argv);
int RunRunBench(const std::vector<std::string>& argv);  // run-bench: the sandbox's launch cost against bare exec and bwrap    // doctor [--json]: what sandbox tiers this host supports
int RunPhase(const std::vector<std::string>& argv);     // phase set|get: a session's task phase, via the daemon
int RunGrant(const std::vector<std::string>& argv);     // grant [list|revoke]: a session's temporary grants, via the daemon
int RunServe(const std::vector<std::string>& argv);     // serve: the decision daemon on a Unix socket
int RunServeBench(const std::vector<std::string>& argv);
int RunStateBench(const std::vector<std::string>& argv);  // state-bench: the cost of tg.state.incr, in memory and durable
int RunHookBench(const std::vector<std::string>& argv);  // hook-bench: hook round trip against a static floor  // serve-bench: daemon throughput

}  // namespace toolgate::cli
