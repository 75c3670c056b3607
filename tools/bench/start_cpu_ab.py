# A/B start cost: spawns each command of the old and the new binary in turn
# (alternating), feeds stdin, reads stdout to EOF, reaps with wait4; prints
# medians of CPU time (user+sys) and wall time, and new/old ratios.
import os, sys, time, statistics, subprocess, tempfile
old, new, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
HOOK = (b'{"session_id":"b3c1e52f-7a1d-4c8e-b2a4-1d2e3f405162","transcript_path":"/tmp/t.jsonl","cwd":"/home/dev/project",'
        b'"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status","description":"Show status"},'
        b'"tool_use_id":"toolu_01"}')
sockdir = tempfile.mkdtemp(prefix='start2-ab-')
socks = {b: f'{sockdir}/{i}.sock' for i, b in enumerate((old, new))}
daemons = [subprocess.Popen([b, 'serve', '--socket', socks[b]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for b in (old, new)]
for b in (old, new):
    for _ in range(200):
        if os.path.exists(socks[b]): break
        time.sleep(0.05)
cases = [
    ('--version', lambda b: [b, '--version'], b''),
    ('hook, daemon', lambda b: [b, 'hook', '--agent', 'claude-dev', '--socket', socks[b]], HOOK),
    ('hook, no daemon', lambda b: [b, 'hook', '--agent', 'claude-dev', '--socket', sockdir + '/none.sock'], HOOK),
    ('run --tier process', lambda b: [b, 'run', '--profile', 'readonly', '--tier', 'process', '--cwd', '/tmp', '--', '/bin/true'], b''),
    ('run --tier namespace', lambda b: [b, 'run', '--profile', 'readonly', '--tier', 'namespace', '--cwd', '/tmp', '--', '/bin/true'], b''),
]
def once(argv, data):
    r0, w0 = os.pipe(); r1, w1 = os.pipe()
    fa = [(os.POSIX_SPAWN_DUP2, r0, 0), (os.POSIX_SPAWN_DUP2, w1, 1), (os.POSIX_SPAWN_OPEN, 2, '/dev/null', os.O_WRONLY, 0)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    os.close(r0); os.close(w1)
    if data: os.write(w0, data)
    os.close(w0)
    while os.read(r1, 65536): pass
    os.close(r1)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return (ru.ru_utime + ru.ru_stime) * 1e6, wall * 1e6, ru.ru_minflt, status
print('load average before:', os.getloadavg())
for name, mk, data in cases:
    res = {old: [], new: []}
    for i in range(n):
        for b in ((old, new) if i % 2 == 0 else (new, old)):
            res[b].append(once(mk(b), data))
    def med(b, k): return statistics.median(x[k] for x in res[b])
    st = {b: set(x[3] for x in res[b]) for b in (old, new)}
    print(f'{name:22s} cpu us old {med(old,0):8.0f} new {med(new,0):8.0f} ratio {med(new,0)/med(old,0):.2f} | '
          f'wall us old {med(old,1):8.0f} new {med(new,1):8.0f} ratio {med(new,1)/med(old,1):.2f} | '
          f'minflt {med(old,2):.0f} / {med(new,2):.0f} | status {sorted(st[old])}/{sorted(st[new])}')
print('load average after:', os.getloadavg())
for d in daemons: d.terminate(); d.wait()
