/**
 * host/model: Kubernetes objects → the normalized ServiceModel (host/engine/model.ts), with
 * validation, allocation, endpoint computation and change tracking. Browser-safe.
 */
export { buildServiceModel, resolveModelOptions } from './build.js';
export type { Diagnostic, KubeObject, KubeMetadata, ModelOptions, ModelResult, ObjectOrigin, ServiceView, ServicePortView, EndpointView } from './types.js';
export { formatDiagnostic } from './types.js';
export { setOrigin, originOf } from './fields.js';
export { type AllocationState, type AllocationStore, MemoryAllocationStore, emptyAllocationState, sanitizeAllocationState } from './allocation-store.js';
export { ServiceChangeTracker, isEmpty, type ServiceChanges } from './change-tracker.js';
export { formatServicesTable, formatEndpointsTable, dumpServiceModel, alignColumns } from './tables.js';
export { SCHEDULER_ANNOTATION, SCHEDULER_FLAGS_ANNOTATION } from './service.js';
export { POD_WEIGHT_ANNOTATION, WEIGHTS_ANNOTATION, SERVICE_NAME_LABEL } from './endpoints.js';
export { parseManifestDocuments, type ManifestDocuments } from './manifest-text.js';
export {
  type DiscoveryView, type DiscoveryService, type DiscoveryEndpoint, type DiscoveryPort, type PodView, SYSTEM_NAMESPACES,
} from './discovery.js';
export { type EnvVar, type EnvOptions, envVariableName, namespaceEnvVars, podEnvVars, serviceEnvVars } from './env-vars.js';
