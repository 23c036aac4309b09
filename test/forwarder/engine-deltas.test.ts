/**
 * The forwarder hands the engine what changed (engine.applyChanges), not a whole new model: after
 * the first sync, an endpoint change is a delta that rebuilds only its service port, and the
 * engine decides with the new endpoint at once. Real engine and real listeners on loopback.
 */
import net from 'node:net';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { EngineApi } from '../../host/engine/api.js';
import { parseAddress } from '../../host/engine/address.js';
import { PROTOCOL_NUMBER, servicePortKey } from '../../host/engine/model.js';
import { loadEngine } from '../../host/engine/node.js';
import { Forwarder } from '../../host/forwarder/forwarder.js';
import { backend, model, servicePort } from './fixtures.js';

let forwarder: Forwarder | undefined;
afterEach(async () => {
  await forwarder?.close();
  forwarder = undefined;
});

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen({ host, port: 0 }, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('syncs a one-endpoint change as a delta, and the engine picks the new endpoint', async () => {
  const engine = await loadEngine({ flowCapacity: 1024 });
  const paths: string[] = [];
  const recorded: EngineApi = new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'applyChanges') return (c: Parameters<EngineApi['applyChanges']>[0]) => {
        const path = target.applyChanges(c);
        paths.push(path);
        return path;
      };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  forwarder = new Forwarder(recorded, pino({ level: 'silent' }));
  const vip = (i: number) => `127.97.21.${i + 1}`;
  const ports = await Promise.all(Array.from({ length: 10 }, (_, i) => freePort(vip(i))));
  const services = (endpointOf3: string) => model(Array.from({ length: 10 }, (_, i) => servicePort(`web-${i}`, {
    clusterIPs: [vip(i)], port: ports[i]!, backends: [backend(i === 3 ? endpointOf3 : `127.245.21.${i + 1}`, 8080)],
  })));
  await forwarder.sync(services('127.245.21.4'));
  await forwarder.sync(services('127.245.22.4'));
  expect(paths).toEqual(['full', 'delta']);
  const d = recorded.connect(PROTOCOL_NUMBER.TCP, parseAddress('127.0.0.1'), 40000, parseAddress(vip(3)), ports[3]!, performance.now());
  expect(d.backend?.ip).toBe('127.245.22.4');
  expect(recorded.model.servicePorts.map(servicePortKey).sort()).toEqual(services('127.245.22.4').servicePorts.map(servicePortKey).sort());
});
