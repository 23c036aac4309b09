/**
 * Hand-built ServiceModel pieces for forwarder tests (the model issue's builder turns manifests
 * into the same shape; these skip the YAML step so a test states exactly what it serves).
 */
import type { ModelBackend, ModelServicePort, ServiceModel } from '../../host/engine/model.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

export function backend(ip: string, port: number, extra: Partial<ModelBackend> = {}): ModelBackend {
  return modelBackend(ip, port, { local: true, ...extra });
}

export function servicePort(name: string, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  return modelServicePort({ namespace: 'default', name, ...extra });
}

export function model(servicePorts: ModelServicePort[], nodeIPs: string[] = []): ServiceModel {
  const sorted = [...servicePorts].sort((a, b) => (`${a.namespace}/${a.name}:${a.portName}` < `${b.namespace}/${b.name}:${b.portName}` ? -1 : 1));
  return { nodeIPs, servicePorts: sorted };
}
