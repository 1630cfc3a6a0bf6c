import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../../src/engine/fuzz.js';

describe('fuzz: condition parser and rules loader', () => {
  it('never crashes or hangs; every rejection is a load error with a position', () => {
    const s = runFuzz(400, 20260601, 1000);
    expect(s.crashes).toEqual([]);
    expect(s.badRejections).toEqual([]);
    expect(s.slow).toEqual([]);
    // the generator must exercise both outcomes
    expect(s.parsed).toBeGreaterThan(20);
    expect(s.parseRejected).toBeGreaterThan(20);
    expect(s.loaded).toBeGreaterThan(20);
    expect(s.loadRejected).toBeGreaterThan(20);
  });
});

describe('differential: generated code vs closure tree', () => {
  it('gives the same matches on random conditions and events', async () => {
    const { genCondition, rng } = await import('../../../src/engine/fuzz.js');
    const { engine } = await import('./util.js');
    const r = rng(99);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    let compared = 0;
    let matched = 0;
    for (let i = 0; i < 150; i++) {
      const cond = genCondition(r);
      // macros of 3+ checks are generated once and memoised per event: exercise that path too
      const yaml = `- macro: m1\n  condition: evt.type = open and proc.pid >= 0 or fd.name startswith /e\n- macro: m2\n  condition: proc.name in (a, b) or proc.name = bash or fd.types intersects (a) or m1\n- rule: R\n  desc: d\n  condition: ${JSON.stringify(cond)}\n  output: o\n  priority: INFO\n  warn_evttypes: false\n- rule: R2\n  desc: d\n  condition: m2 and not m1 or proc.name = b\n  output: o\n  priority: INFO\n  warn_evttypes: false\n`;
      const gen = engine({ ruleMatching: 'all', codegen: true });
      const clo = engine({ ruleMatching: 'all', codegen: false });
      const genFirst = engine({ ruleMatching: 'first', codegen: true });
      if (!gen.load([{ name: 'a', content: yaml }]).successful) continue;
      genFirst.load([{ name: 'a', content: yaml }]);
      expect(clo.load([{ name: 'a', content: yaml }]).successful).toBe(true);
      for (let k = 0; k < 40; k++) {
        const ev: Record<string, unknown> = { 'evt.type': pick(['open', 'execve', 'connect']) };
        if (r() < 0.8) ev['proc.name'] = pick(['bash', 'a', 'b', 'x y', '']);
        if (r() < 0.8) ev['fd.name'] = pick(['/etc', '/etc/passwd', '/tmp', 'bash']);
        if (r() < 0.8) ev['proc.pid'] = pick([0, 10, 31, -1]);
        if (r() < 0.5) ev['proc.aname[2]'] = pick(['bash', 'sshd']);
        if (r() < 0.5) ev['fd.types'] = pick([['ipv4'], ['a', 'b'], []]);
        if (r() < 0.5) ev['user.uid'] = pick([0, 1000]);
        if (r() < 0.5) ev['fd.sip'] = pick(['10.1.1.1', '8.8.8.8']);
        if (r() < 0.5) ev['evt.arg[flags]'] = pick(['O_RDONLY', 'open']);
        if (r() < 0.3) ev['proc.pname'] = pick(['bash', 'a']);
        const a = gen.process('syscall', ev).map((m) => m.rule.name);
        const b = clo.process('syscall', ev).map((m) => m.rule.name);
        expect(a, `${cond} on ${JSON.stringify(ev)}`).toEqual(b);
        expect(genFirst.process('syscall', ev).map((m) => m.rule.name)).toEqual(b.slice(0, 1));
        compared++;
        matched += a.length;
      }
    }
    expect(compared).toBeGreaterThan(1000);
    expect(matched).toBeGreaterThan(50);
  });
});
