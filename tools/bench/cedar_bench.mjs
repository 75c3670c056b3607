// Cedar, the peer of toolgate's engine: times @cedar-policy/cedar-wasm's
// statefulIsAuthorized (the policy set parsed once, in-process, warm) per request.
//   node cedar_bench.mjs POLICIES.cedar REQUESTS.json ITERATIONS [SECONDS]
// SECONDS bounds the measuring loop (large policy sets take milliseconds per
// request): it stops early once that much time has passed, after 20 requests.
// Prints one JSON object: p50/p99 in microseconds, decisions/s, the verdict of
// every request (in order), the Cedar version and the policy count.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const [policyPath, requestsPath, iterArg, secondsArg] = process.argv.slice(2);
let iterations = Number(iterArg);
const budgetNs = BigInt(Math.round(Number(secondsArg || 600) * 1e9));
if (!policyPath || !requestsPath || !(iterations > 0)) {
  console.error('usage: node cedar_bench.mjs POLICIES.cedar REQUESTS.json ITERATIONS');
  process.exit(2);
}
const policies = readFileSync(policyPath, 'utf8');
const requests = JSON.parse(readFileSync(requestsPath, 'utf8'));

const parsed = cedar.preparsePolicySet('bench', { staticPolicies: policies });
if (parsed.type !== 'success') {
  console.error('cedar: the policy set does not parse: ' + JSON.stringify(parsed.errors));
  process.exit(1);
}
const calls = requests.map((r) => ({ ...r, preparsedPolicySetId: 'bench', validateRequest: false }));

function decide(call) {
  const a = cedar.statefulIsAuthorized(call);
  if (a.type !== 'success') throw new Error('cedar: ' + JSON.stringify(a.errors));
  return a.response.decision;
}

const verdicts = calls.map(decide);
const warm = process.hrtime.bigint();
for (let i = 0; i < calls.length * 10 && process.hrtime.bigint() - warm < budgetNs / 4n; i++) {
  decide(calls[i % calls.length]);  // warm-up (JIT, caches)
}

let ns = new Float64Array(iterations);
const begin = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) {
  const t0 = process.hrtime.bigint();
  decide(calls[i % calls.length]);
  ns[i] = Number(process.hrtime.bigint() - t0);
  if (i >= 20 && process.hrtime.bigint() - begin > budgetNs) {
    iterations = i + 1;
    ns = ns.slice(0, iterations);
    break;
  }
}
const total = Number(process.hrtime.bigint() - begin) / 1e9;
ns.sort();
const pct = (p) => ns[Math.min(ns.length - 1, Math.round(p * (ns.length - 1)))] / 1000;
console.log(JSON.stringify({
  p50_us: pct(0.5), p99_us: pct(0.99), decisions_per_s: iterations / total, iterations,
  verdicts, cedar_version: cedar.getCedarVersion(),
  policies: policies.split('\n').filter((l) => l.trim()).length,
}));
