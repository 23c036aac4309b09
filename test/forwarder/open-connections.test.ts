/**
 * OpenConnections: the listeners' open TCP connections as an intrusive list (issue 14: a Set's
 * discarded hash tables kept finished connections alive through young-generation GCs). What
 * draining relies on: size, removal in any order, a walk that tolerates removal; and what the GC
 * relies on: a removed connection links to nothing.
 */
import { describe, expect, it } from 'vitest';
import { OpenConnections, type OpenConnection } from '../../host/forwarder/open-connections.js';

type Conn = OpenConnection & { name: string };
const conn = (name: string): Conn => ({ name, prevOpen: null, nextOpen: null });
const names = (list: OpenConnections<Conn>): string[] => list.toArray().map((c) => c.name);

describe('OpenConnections', () => {
  it('counts and lists connections, newest first, as they are added and removed in any order', () => {
    const list = new OpenConnections<Conn>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(conn) as [Conn, Conn, Conn, Conn];
    for (const x of [a, b, c, d]) list.add(x);
    expect(list.size).toBe(4);
    expect(names(list)).toEqual(['d', 'c', 'b', 'a']);
    list.delete(c); // middle
    list.delete(d); // head
    list.delete(a); // tail
    expect(list.size).toBe(1);
    expect(names(list)).toEqual(['b']);
    list.delete(b);
    expect(list.size).toBe(0);
    expect(names(list)).toEqual([]);
  });

  it('ignores a second removal and a connection it never held', () => {
    const list = new OpenConnections<Conn>();
    const [a, b, stranger] = ['a', 'b', 'stranger'].map(conn) as [Conn, Conn, Conn];
    list.add(a);
    list.add(b);
    list.delete(a);
    list.delete(a);
    list.delete(stranger);
    expect(list.size).toBe(1);
    expect(names(list)).toEqual(['b']);
  });

  it('leaves a removed connection with no links, so a finished one keeps nothing alive', () => {
    const list = new OpenConnections<Conn>();
    const all = Array.from({ length: 5 }, (_, i) => conn(`c${i}`));
    for (const x of all) list.add(x);
    for (const x of [all[2]!, all[4]!, all[0]!]) {
      list.delete(x);
      expect([x.prevOpen, x.nextOpen]).toEqual([null, null]);
    }
    // The survivors still link only to each other.
    expect(names(list)).toEqual(['c3', 'c1']);
    expect(all[3]!.nextOpen).toBe(all[1]);
    expect(all[1]!.prevOpen).toBe(all[3]);
  });

  it('walks a copy, so every connection can be removed while walking (abortAll)', () => {
    const list = new OpenConnections<Conn>();
    for (let i = 0; i < 100; i++) list.add(conn(`c${i}`));
    let walked = 0;
    for (const c of list.toArray()) {
      list.delete(c);
      walked++;
    }
    expect(walked).toBe(100);
    expect(list.size).toBe(0);
  });
});
