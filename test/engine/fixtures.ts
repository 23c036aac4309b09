/**
 * Small builders for engine tests: service ports and backends with Kubernetes defaults, and
 * parsed addresses by text.
 */
import { parseAddress, type Address } from '../../host/engine/address.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from '../../host/engine/model.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

export const TCP = 6;
export const UDP = 17;
export const SCTP = 132;

const cache = new Map<string, Address>();
/** Parsed address (cached). */
export function ip(text: string): Address {
  let a = cache.get(text);
  if (!a) {
    a = parseAddress(text);
    cache.set(text, a);
  }
  return a;
}

export function backend(ipText: string, port = 8080, extra: Partial<ModelBackend> = {}): ModelBackend {
  return modelBackend(ipText, port, extra);
}

/** Engine tests default `hasEndpoints` to true, so an empty port rejects only when a test says so. */
export function servicePort(name: string, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  return modelServicePort({ namespace: 'default', name, hasEndpoints: true, ...extra });
}

export function model(servicePorts: ModelServicePort[], nodeIPs: string[] = []): ServiceModel {
  return { nodeIPs, servicePorts };
}

/** The A, B, C servers of reference/ipvs-schedulers.md §9 (weights 1, 2, 3), in engine order. */
export function abc(weights: [number, number, number] = [1, 2, 3], port = 8080): ModelBackend[] {
  return [
    backend('10.0.0.1', port, { weight: weights[0] }),
    backend('10.0.0.2', port, { weight: weights[1] }),
    backend('10.0.0.3', port, { weight: weights[2] }),
  ];
}
