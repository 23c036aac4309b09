/**
 * Structure check of an Envoy v3 bootstrap against Envoy's documented field names, for the
 * messages `vipwasm envoy-config` emits. Field lists come from the API reference
 * (envoyproxy.io/docs/envoy/latest/api-v3/...): config/bootstrap/v3/bootstrap.proto,
 * config/listener/v3/{listener,listener_components}.proto, config/cluster/v3/cluster.proto,
 * config/endpoint/v3/{endpoint,endpoint_components}.proto, config/core/v3/{address,base}.proto,
 * config/route/v3/route_components.proto, extensions/filters/network/http_connection_manager/v3,
 * extensions/filters/{http,network}/wasm/v3, extensions/wasm/v3/wasm.proto,
 * extensions/filters/network/tcp_proxy/v3, extensions/filters/http/router/v3.
 * Envoy rejects unknown fields at load time; so does this check, naming the path.
 */

type Field = 'scalar' | 'any' | { msg: string } | { list: string } | { enum: readonly string[] } | 'duration' | 'scalars';

const msg = (name: string): Field => ({ msg: name });
const list = (name: string): Field => ({ list: name });

function fields(names: string, known: Record<string, Field> = {}): Record<string, Field> {
  const out: Record<string, Field> = {};
  for (const n of names.split(/\s+/).filter(Boolean)) out[n] = known[n] ?? 'scalar';
  return out;
}

const CLUSTER_TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'] as const;
const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as const;

/** Message name → its fields. */
const MESSAGES: Record<string, Record<string, Field>> = {
  Bootstrap: fields(
    'node node_context_params static_resources dynamic_resources cluster_manager hds_config flags_path stats_sinks ' +
      'stats_config stats_flush_interval stats_flush_on_admin watchdog watchdogs tracing layered_runtime admin ' +
      'overload_manager enable_dispatcher_stats header_prefix stats_server_version_override use_tcp_for_dns_lookups ' +
      'dns_resolution_config typed_dns_resolver_config bootstrap_extensions fatal_actions config_sources ' +
      'default_config_source default_socket_interface certificate_provider_instances inline_headers perf_tracing_file_path ' +
      'default_regex_engine xds_delegate_extension xds_config_tracker_extension listener_manager application_log_config ' +
      'grpc_async_client_manager_config memory_allocator_manager',
    { admin: msg('Admin'), static_resources: msg('StaticResources') },
  ),
  StaticResources: fields('listeners clusters secrets', { listeners: list('Listener'), clusters: list('Cluster') }),
  Admin: fields('access_log access_log_path profile_path address socket_options ignore_global_conn_limit', { address: msg('Address') }),
  Address: fields('socket_address pipe envoy_internal_address', { socket_address: msg('SocketAddress') }),
  SocketAddress: fields('protocol address port_value named_port resolver_name ipv4_compat network_namespace_filepath'),
  Listener: fields(
    'name address additional_addresses stat_prefix filter_chains filter_chain_matcher use_original_dst default_filter_chain ' +
      'per_connection_buffer_limit_bytes metadata deprecated_v1 drain_type listener_filters listener_filters_timeout ' +
      'continue_on_listener_filters_timeout transparent freebind socket_options tcp_fast_open_queue_length traffic_direction ' +
      'udp_listener_config api_listener connection_balance_config reuse_port enable_reuse_port access_log tcp_backlog_size ' +
      'max_connections_to_accept_per_socket_event bind_to_port internal_listener enable_mptcp ignore_global_conn_limit ' +
      'bypass_overload_manager',
    { address: msg('Address'), filter_chains: list('FilterChain') },
  ),
  FilterChain: fields('filter_chain_match filters use_proxy_proto metadata transport_socket transport_socket_connect_timeout name', {
    filters: list('Filter'),
  }),
  Filter: fields('name typed_config config_discovery', { typed_config: 'any' }),
  HttpFilter: fields('name typed_config config_discovery is_optional disabled', { typed_config: 'any' }),
  HttpConnectionManager: fields(
    'codec_type stat_prefix rds route_config scoped_routes http_filters add_user_agent tracing common_http_protocol_options ' +
      'http_protocol_options http2_protocol_options http3_protocol_options server_name server_header_transformation ' +
      'scheme_header_transformation max_request_headers_kb stream_idle_timeout request_timeout request_headers_timeout ' +
      'drain_timeout delayed_close_timeout access_log access_log_flush_interval flush_access_log_on_new_request ' +
      'access_log_options use_remote_address xff_num_trusted_hops original_ip_detection_extensions ' +
      'early_header_mutation_extensions internal_address_config skip_xff_append via generate_request_id ' +
      'preserve_external_request_id always_set_request_id_in_response forward_client_cert_details ' +
      'set_current_client_cert_details proxy_100_continue represent_ipv4_remote_address_as_ipv4_mapped_ipv6 upgrade_configs ' +
      'normalize_path merge_slashes path_with_escaped_slashes_action request_id_extension local_reply_config ' +
      'strip_matching_host_port strip_any_host_port stream_error_on_invalid_http_message path_normalization_options ' +
      'strip_trailing_host_dot proxy_status_config typed_header_validation_config append_x_forwarded_port ' +
      'append_local_overload add_proxy_protocol_connection_state',
    { route_config: msg('RouteConfiguration'), http_filters: list('HttpFilter') },
  ),
  RouteConfiguration: fields(
    'name virtual_hosts vhds internal_only_headers response_headers_to_add response_headers_to_remove request_headers_to_add ' +
      'request_headers_to_remove most_specific_header_mutations_wins validate_clusters max_direct_response_body_size_bytes ' +
      'cluster_specifier_plugins request_mirror_policies ignore_port_in_host_matching ' +
      'ignore_path_parameters_in_path_matching typed_per_filter_config metadata',
    { virtual_hosts: list('VirtualHost') },
  ),
  VirtualHost: fields(
    'name domains routes matcher require_tls virtual_clusters rate_limits request_headers_to_add request_headers_to_remove ' +
      'response_headers_to_add response_headers_to_remove cors typed_per_filter_config include_request_attempt_count ' +
      'include_attempt_count_in_response retry_policy retry_policy_typed_config hedge_policy include_is_timeout_retry_header ' +
      'per_request_buffer_limit_bytes request_mirror_policies metadata',
    { routes: list('Route'), domains: 'scalars' },
  ),
  Route: fields(
    'name match route redirect direct_response filter_action non_forwarding_action metadata decorator typed_per_filter_config ' +
      'request_headers_to_add request_headers_to_remove response_headers_to_add response_headers_to_remove tracing ' +
      'per_request_buffer_limit_bytes stat_prefix',
    { match: msg('RouteMatch'), route: msg('RouteAction') },
  ),
  RouteMatch: fields(
    'prefix path safe_regex connect_matcher path_separated_prefix path_match_policy case_sensitive runtime_fraction headers ' +
      'query_parameters grpc tls_context dynamic_metadata filter_state',
  ),
  RouteAction: fields(
    'cluster cluster_header weighted_clusters cluster_specifier_plugin inline_cluster_specifier_plugin ' +
      'cluster_not_found_response_code metadata_match prefix_rewrite regex_rewrite path_rewrite_policy host_rewrite_literal ' +
      'auto_host_rewrite host_rewrite_header host_rewrite_path_regex append_x_forwarded_host timeout idle_timeout ' +
      'early_data_policy retry_policy retry_policy_typed_config request_mirror_policies priority rate_limits ' +
      'include_vh_rate_limits hash_policy cors max_grpc_timeout grpc_timeout_offset upgrade_configs internal_redirect_policy ' +
      'internal_redirect_action max_internal_redirects hedge_policy max_stream_duration',
    { timeout: 'duration' },
  ),
  Router: fields(
    'dynamic_stats start_child_span upstream_log upstream_log_options suppress_envoy_headers strict_check_headers ' +
      'respect_expected_rq_timeout suppress_grpc_request_failure_code_stats upstream_http_filters',
  ),
  Wasm: fields('config', { config: msg('PluginConfig') }),
  PluginConfig: fields('name root_id vm_config configuration fail_open failure_policy reload_config capability_restriction_config', {
    vm_config: msg('VmConfig'),
    configuration: 'any',
  }),
  VmConfig: fields('vm_id runtime code configuration allow_precompiled nack_on_code_cache_miss environment_variables', {
    code: msg('AsyncDataSource'),
    configuration: 'any',
    runtime: { enum: ['envoy.wasm.runtime.v8', 'envoy.wasm.runtime.null', 'envoy.wasm.runtime.wamr', 'envoy.wasm.runtime.wasmtime'] },
  }),
  AsyncDataSource: fields('local remote', { local: msg('DataSource') }),
  DataSource: fields('filename inline_bytes inline_string environment_variable watched_directory'),
  StringValue: fields('value'),
  TcpProxy: fields(
    'stat_prefix cluster weighted_clusters on_demand metadata_match idle_timeout downstream_idle_timeout upstream_idle_timeout ' +
      'access_log max_connect_attempts backoff_options hash_policy tunneling_config max_downstream_connection_duration ' +
      'access_log_flush_interval flush_access_log_on_connected access_log_options',
  ),
  Cluster: fields(
    'transport_socket_matches name alt_stat_name type cluster_type eds_cluster_config connect_timeout ' +
      'per_connection_buffer_limit_bytes lb_policy load_assignment health_checks max_requests_per_connection circuit_breakers ' +
      'upstream_http_protocol_options common_http_protocol_options http_protocol_options http2_protocol_options ' +
      'typed_extension_protocol_options dns_refresh_rate dns_failure_refresh_rate respect_dns_ttl dns_lookup_family ' +
      'dns_resolvers use_tcp_for_dns_lookups dns_resolution_config typed_dns_resolver_config wait_for_warm_on_init ' +
      'outlier_detection cleanup_interval upstream_bind_config lb_subset_config ring_hash_lb_config maglev_lb_config ' +
      'original_dst_lb_config least_request_lb_config round_robin_lb_config common_lb_config transport_socket metadata ' +
      'protocol_selection upstream_connection_options close_connections_on_host_health_failure ' +
      'ignore_health_on_host_removal filters load_balancing_policy lrs_server track_timeout_budgets upstream_config ' +
      'track_cluster_stats preconnect_policy connection_pool_per_downstream_connection',
    {
      type: { enum: CLUSTER_TYPES },
      lb_policy: { enum: LB_POLICIES },
      connect_timeout: 'duration',
      load_assignment: msg('ClusterLoadAssignment'),
      original_dst_lb_config: msg('OriginalDstLbConfig'),
    },
  ),
  OriginalDstLbConfig: fields('use_http_header http_header_name upstream_port_override metadata_key'),
  ClusterLoadAssignment: fields('cluster_name endpoints named_endpoints policy', { endpoints: list('LocalityLbEndpoints') }),
  LocalityLbEndpoints: fields(
    'locality metadata lb_endpoints leds_cluster_locality_config load_balancing_weight priority proximity',
    { lb_endpoints: list('LbEndpoint') },
  ),
  LbEndpoint: fields('endpoint endpoint_name health_status metadata load_balancing_weight', { endpoint: msg('Endpoint') }),
  Endpoint: fields('address health_check_config hostname additional_addresses', { address: msg('Address') }),
};

/** `@type` URL → message name, for typed_config / configuration (google.protobuf.Any). */
const ANY_TYPES: Record<string, string> = {
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': 'HttpConnectionManager',
  'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm': 'Wasm',
  'type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm': 'Wasm',
  'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router': 'Router',
  'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': 'TcpProxy',
  'type.googleapis.com/google.protobuf.StringValue': 'StringValue',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function check(value: unknown, type: string, path: string, errors: string[]): void {
  const spec = MESSAGES[type]!;
  if (!isObject(value)) {
    errors.push(`${path}: expected a ${type} object`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key === '@type') continue;
    const field = spec[key];
    const at = path ? `${path}.${key}` : key;
    if (!field) errors.push(`${at}: unknown field of ${type}`);
    else checkField(v, field, at, errors);
  }
}

function checkField(v: unknown, field: Field, at: string, errors: string[]): void {
  if (field === 'scalar') {
    if (typeof v === 'object' && v !== null) errors.push(`${at}: expected a scalar`);
  } else if (field === 'scalars') {
    if (!Array.isArray(v) || v.some((x) => typeof x === 'object')) errors.push(`${at}: expected a list of scalars`);
  } else if (field === 'duration') {
    if (typeof v !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(v)) errors.push(`${at}: expected a duration like "1s", got ${JSON.stringify(v)}`);
  } else if (field === 'any') {
    const t = isObject(v) ? v['@type'] : undefined;
    const name = typeof t === 'string' ? ANY_TYPES[t] : undefined;
    if (!name) errors.push(`${at}: unknown or missing "@type" ${JSON.stringify(t)}`);
    else check(v, name, at, errors);
  } else if ('enum' in field) {
    if (typeof v !== 'string' || !field.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} is not one of ${field.enum.join(', ')}`);
  } else if ('msg' in field) {
    check(v, field.msg, at, errors);
  } else if (!Array.isArray(v)) {
    errors.push(`${at}: expected a list of ${field.list}`);
  } else {
    v.forEach((item, i) => check(item, field.list, `${at}[${i}]`, errors));
  }
}

/**
 * Checks field names and types message by message, then the cross references Envoy enforces when
 * loading: listener names and addresses unique, routes and tcp_proxy name existing clusters,
 * ORIGINAL_DST clusters use CLUSTER_PROVIDED, the router is the last HTTP filter. Returns the errors.
 */
export function validateBootstrap(bootstrap: unknown): string[] {
  const errors: string[] = [];
  check(bootstrap, 'Bootstrap', '', errors);
  if (errors.length) return errors;
  const root = bootstrap as { static_resources?: { listeners?: Record<string, unknown>[]; clusters?: Record<string, unknown>[] } };
  const clusters = root.static_resources?.clusters ?? [];
  const clusterNames = new Set<string>();
  clusters.forEach((c, i) => {
    const name = String(c['name']);
    if (clusterNames.has(name)) errors.push(`static_resources.clusters[${i}].name: duplicate cluster "${name}"`);
    clusterNames.add(name);
    if (c['type'] === 'ORIGINAL_DST' && c['lb_policy'] !== 'CLUSTER_PROVIDED') {
      errors.push(`static_resources.clusters[${i}]: an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED`);
    }
    if (c['original_dst_lb_config'] && c['type'] !== 'ORIGINAL_DST') errors.push(`static_resources.clusters[${i}]: original_dst_lb_config needs type ORIGINAL_DST`);
  });
  const names = new Set<string>();
  const addresses = new Set<string>();
  (root.static_resources?.listeners ?? []).forEach((l, i) => {
    const at = `static_resources.listeners[${i}]`;
    const name = String(l['name']);
    if (names.has(name)) errors.push(`${at}.name: duplicate listener "${name}"`);
    names.add(name);
    const sa = (l['address'] as { socket_address?: { address?: string; port_value?: number } } | undefined)?.socket_address;
    const key = `${sa?.address}:${sa?.port_value}`;
    if (addresses.has(key)) errors.push(`${at}.address: ${key} is bound twice`);
    addresses.add(key);
    const chains = (l['filter_chains'] ?? []) as Array<{ filters?: Array<{ name: string; typed_config?: Record<string, unknown> }> }>;
    chains.forEach((chain, c) => {
      (chain.filters ?? []).forEach((f, k) => {
        const cfg = f.typed_config ?? {};
        const fat = `${at}.filter_chains[${c}].filters[${k}]`;
        if (typeof cfg['cluster'] === 'string' && !clusterNames.has(cfg['cluster'])) errors.push(`${fat}: unknown cluster "${cfg['cluster']}"`);
        const hcm = cfg as { http_filters?: Array<{ name: string }>; route_config?: { virtual_hosts?: Array<{ routes?: Array<{ route?: { cluster?: string } }> }> } };
        if (hcm.http_filters && hcm.http_filters.at(-1)?.name !== 'envoy.filters.http.router') {
          errors.push(`${fat}.typed_config.http_filters: the last HTTP filter must be envoy.filters.http.router`);
        }
        for (const vh of hcm.route_config?.virtual_hosts ?? []) {
          for (const r of vh.routes ?? []) {
            const target = r.route?.cluster;
            if (target !== undefined && !clusterNames.has(target)) errors.push(`${fat}: route to unknown cluster "${target}"`);
          }
        }
      });
    });
  });
  return errors;
}
