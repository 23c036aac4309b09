/**
 * Differential conformance, iptables mode: the real kube-proxy v1.37 and `vipwasm rules --watch` on one
 * real API server, in twin network namespaces, must install the same rules for every generated
 * scenario (test/k8s/differential/). Skips with the toolchain's reason when the binaries are missing.
 */
import { differentialSuite } from './differential/suite.js';

differentialSuite('iptables');
