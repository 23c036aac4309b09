/**
 * ConnectDeadlines: the connect timeout of every backend connect in one list and one timer
 * (issue 14: no timer per connection). Real timers, short timeouts, tolerant bounds.
 */
import { describe, expect, it } from 'vitest';
import { ConnectDeadlines, type ConnectDeadline } from '../../host/forwarder/connect-deadlines.js';

function entry(name: string, fired: string[]): ConnectDeadline & { name: string } {
  return { name, deadlineAt: 0, prevDeadline: null, nextDeadline: null, connectTimedOut: () => fired.push(name) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ConnectDeadlines', () => {
  it('times out the connects still in flight, oldest first, and none that was removed', async () => {
    const fired: string[] = [];
    const d = new ConnectDeadlines(40, () => performance.now());
    const [a, b, c] = ['a', 'b', 'c'].map((n) => entry(n, fired));
    d.add(a!);
    await sleep(10);
    d.add(b!);
    d.add(c!);
    d.remove(b!); // answered in time
    expect(d.size).toBe(2);
    await sleep(20);
    expect(fired).toEqual([]); // nobody is late yet
    await sleep(150);
    expect(fired).toEqual(['a', 'c']);
    expect(d.size).toBe(0);
  });

  it('restarts a deadline that is added again (a retry), without linking the entry twice', async () => {
    const fired: string[] = [];
    const d = new ConnectDeadlines(60, () => performance.now());
    const a = entry('a', fired);
    const b = entry('b', fired);
    d.add(a);
    d.add(b);
    await sleep(40);
    d.add(a); // retry: a's new deadline is after b's
    expect(d.size).toBe(2);
    await sleep(45);
    expect(fired).toEqual(['b']);
    await sleep(120);
    expect(fired).toEqual(['b', 'a']);
  });

  it('keeps the timer going for connects added while others time out', async () => {
    const fired: string[] = [];
    const d = new ConnectDeadlines(30, () => performance.now());
    const late = entry('late', fired);
    const later = entry('later', fired);
    late.connectTimedOut = () => {
      fired.push('late');
      d.add(later); // e.g. a retry started from the timeout
    };
    d.add(late);
    await sleep(200);
    expect(fired).toEqual(['late', 'later']);
  });

  it('keeps no deadline when the timeout is 0, and clear() forgets every entry', async () => {
    const fired: string[] = [];
    const off = new ConnectDeadlines(0, () => performance.now());
    off.add(entry('x', fired));
    expect(off.size).toBe(0);
    const d = new ConnectDeadlines(20, () => performance.now());
    d.add(entry('y', fired));
    d.add(entry('z', fired));
    d.clear();
    expect(d.size).toBe(0);
    await sleep(80);
    expect(fired).toEqual([]);
  });
});
