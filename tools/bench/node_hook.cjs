// A typical Node hook script doing the benchmark policy's checks, the same as
// py_hook.py: reads a Claude Code PreToolUse input on stdin, judges it against
// spec.json beside this file, prints the answer. What an agent spawns per call.
'use strict';
const fs = require('fs');
const path = require('path');

// A glob as fnmatch reads it: * and ** cross '/', ? is one character.
const globRe = (g) => new RegExp('^' + g.replace(/\*\*/g, '*').split('*').map(
  (s) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\?/g, '.')).join('.*') + '$');
const spec = JSON.parse(fs.readFileSync(path.join(__dirname, 'spec.json'), 'utf8'));
for (const k of ['read', 'write', 'fs_deny', 'net_allow', 'net_deny']) spec[k] = spec[k].map(globRe);
const matches = (v, res) => res.some((re) => re.test(v));

function strings(v, out) {
  if (typeof v === 'string') out.push(v);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

function decide(call) {
  const tool = call.tool_name || '';
  const inp = call.tool_input || {};
  const cwd = call.cwd || spec.cwd;
  if (!spec.tools.includes(tool)) return ['deny', 'tool ' + tool + ' is not allowed'];
  if (['Read', 'Grep', 'Write', 'Edit'].includes(tool)) {
    const p = path.resolve(cwd, inp.file_path || inp.path || cwd);
    const allow = tool === 'Read' || tool === 'Grep' ? spec.read : spec.write;
    if (matches(p, spec.fs_deny) || !matches(p, allow)) return ['deny', 'path ' + p + ' is not allowed'];
  } else if (tool === 'Bash') {
    const words = (inp.command || '').trim().split(/\s+/);
    const program = path.basename(words[0] || '');
    if (spec.exec_deny.includes(program) || !spec.exec_allow.includes(program)) {
      return ['deny', 'program ' + program + ' is not allowed'];
    }
  } else if (tool === 'WebFetch') {
    let host = '';
    try { host = new URL(inp.url || '').hostname; } catch (e) { host = ''; }
    if (matches(host, spec.net_deny) || !matches(host, spec.net_allow)) return ['deny', 'host ' + host + ' is not allowed'];
  }
  const text = strings(inp, []).join('\n');
  for (const lit of spec.rules) if (text.includes(lit)) return ['deny', 'contains ' + lit];
  return ['allow', ''];
}

let data = '';
process.stdin.on('data', (c) => { data += c; }).on('end', () => {
  const [verdict, reason] = decide(JSON.parse(data));
  console.log(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: verdict,
                                                     permissionDecisionReason: reason } }));
});
