// The REST API of moat server (src/server/api/openapi.json). Every call sends the token the user
// signed in with; the page itself holds no data.

export type Role = 'admin' | 'analyst' | 'reader' | 'agent';

export interface Whoami {
  id: number;
  name: string;
  role: Role;
}

export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
  fixable: number;
}

export interface ImageLocation {
  registry_id: number;
  registry: string;
  repository: string;
  tags: string[];
  pushed_at: string;
  last_pulled_at: string;
}

export interface Image {
  digest: string;
  os: string;
  platform: string;
  scan_status: string;
  scan_error: string;
  scanned_at: string;
  first_seen: string;
  last_seen_running: string;
  packages: number;
  vulnerabilities: SeverityCounts;
  locations: ImageLocation[];
}

export interface InventoryLayer {
  diff_id: string;
  digest?: string;
  created_by?: string;
  size: number;
}

export interface InventoryPackage {
  type: string;
  name: string;
  version: string;
  layer_diff_id?: string;
  layer_created_by?: string;
}

/// GET /api/v1/images/{digest}: the image with its stored inventory (null before the first scan).
export interface ImageDetail extends Image {
  inventory: {
    artifact?: { layers?: InventoryLayer[] };
    packages?: InventoryPackage[];
  } | null;
}

export interface Finding {
  id: number;
  resource_kind: string;
  resource_id: string;
  source: string;
  finding_id: string;
  package: string;
  installed_version: string;
  fixed_version: string;
  category: string;
  title: string;
  severity: string;
  cvss: number | null;
  kev: boolean;
  epss: number | null;
  patchable: boolean;
  in_use: boolean;
  layer: string;
  evidence: string;
  remediation: string;
  first_seen: string;
  last_seen: string;
  resolved_at: string;
}

export interface Recommendation {
  id: string;
  title: string;
  severity: string;
  control: string;
  resource_kind: string;
  description: string;
  remediation: string;
  unhealthy_count: number;
  assessed_count: number;
}

export interface UnhealthyFinding {
  finding_id: string;
  severity: string;
  title: string;
  cvss: number;
  patchable: boolean;
  kev: boolean;
  in_use: boolean;
}

export interface UnhealthyResource {
  kind: string;
  id: string;
  name: string;
  /// The worst findings (as many as the request's `findings=` asked), most severe first.
  findings: UnhealthyFinding[];
  /// Every finding that makes the resource unhealthy.
  finding_count: number;
}

export interface RecommendationDetail extends Recommendation {
  /// A page of the unhealthy resources; next_cursor leads to the next.
  unhealthy: UnhealthyResource[];
  next_cursor: string;
}

export interface ScoreControl {
  control: string;
  max_points: number;
  points: number;
  healthy: number;
  total: number;
}

export interface Score {
  /// null while nothing is assessed
  points: number | null;
  max_points: number;
  percent: number | null;
  assessed?: number;
  controls: ScoreControl[];
}

export interface TrendDay {
  day: string;
  findings_new: number;
  findings_resolved: number;
  /// "score.percent", "findings.open.CRITICAL", "recommendations.active", ...
  figures: Record<string, number>;
}

export interface Trend {
  days: TrendDay[];
}

export interface Agent {
  id: string;
  kind: string;
  version: string;
  hostname: string;
  acked_through: number;
  registered_at: string;
  last_heartbeat: string;
}

export interface AlertBody {
  time: string;
  rule: string;
  priority: string;
  source?: string;
  hostname?: string;
  tags: string[];
  mitre: { tactic?: string; technique_id?: string; technique?: string }[];
  output: string;
  container?: { id?: string; name?: string; image?: string; image_digest?: string };
  k8s?: { cluster?: string; namespace?: string; pod?: string; node?: string };
  proc?: {
    pid?: number;
    ppid?: number;
    name?: string;
    exe?: string;
    cmdline?: string;
    user?: string;
    /// The processes above it, parent first.
    ancestors?: { pid?: number; name?: string; cmdline?: string }[];
  };
  image?: { repository?: string; tag?: string; digest?: string };
}

export interface StoredAlert {
  id: number;
  status: 'active' | 'dismissed' | 'resolved';
  status_by: string;
  status_reason: string;
  count: number;
  first_time: string;
  last_time: string;
  incident_id: number;
  alert: AlertBody | null;
}

/// Alerts of one container, pod or host process close in time (GET /api/v1/incidents).
export interface Incident {
  id: number;
  first_time: string;
  last_time: string;
  alerts: number;
  occurrences: number;
  active: number;
  status: 'active' | 'closed';
  priority: string;
  rules: string[];
  tactics: string[];
  container_id: string;
  namespace: string;
  pod: string;
  node: string;
  image: string;
}

export interface IncidentDetail extends Incident {
  alert_items: StoredAlert[];
  alert_items_truncated: boolean;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const tokenKey = 'moat.token';

export function storedToken(): string {
  return sessionStorage.getItem(tokenKey) ?? '';
}

export function storeToken(token: string): void {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

// Called when the server answers 401 to a signed-in page: the token was revoked.
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function call<T>(
  path: string,
  options: { method?: string; body?: unknown; token?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Bearer ${options.token ?? storedToken()}`,
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, `The server did not answer (${String(error)}). Is moat server running?`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (response.status === 401 && options.token === undefined) onUnauthorized();
    const message =
      body && typeof body === 'object' && 'error' in body
        ? String((body as { error: unknown }).error)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body as T;
}

/// Every page of a cursor listing, up to `max` items (the overview's aggregates need them all;
/// truncated says when there were more).
export async function listAll<T>(
  path: string,
  max = 10000,
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let cursor = '';
  const separator = path.includes('?') ? '&' : '?';
  for (;;) {
    const page = await call<Page<T>>(
      `${path}${separator}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.next_cursor ?? '';
    if (!cursor) return { items, truncated: false };
    if (items.length >= max) return { items, truncated: true };
  }
}

export const whoami = (token?: string) => call<Whoami>('/api/v1/whoami', { token });

export function canTriage(role: Role | undefined): boolean {
  return role === 'admin' || role === 'analyst';
}

// ---- dashboard views ----------------------------------------------------------------------

export interface ImageRisk {
  score: number;
  kev: number;
  running: boolean;
}

export interface RankedImage extends Image {
  risk: ImageRisk;
}

export interface ImageQueryPage {
  items: RankedImage[];
  next_cursor: string;
  total: number;
}

export interface AssessedSummary {
  id: string;
  name: string;
  passed: number;
  failed: number;
  percent: number | null;
}

export interface Summary {
  generated_at: string;
  score: Score;
  recommendations: { total: number; by_severity: Record<string, number> };
  images: {
    total: number;
    vulnerable: number;
    fixable: number;
    with_kev: number;
    running_vulnerable: number;
    by_worst: Record<string, { images: number; fixable: number }>;
    top: RankedImage[];
  };
  hosts: AssessedSummary[];
  clusters: AssessedSummary[];
  alerts: {
    total: number;
    active: number;
    bucket: 'hour' | 'day';
    buckets: { start: string; priority: string; count: number }[];
    by_priority: Record<string, number>;
    by_tactic: Record<string, number>;
  };
  agents: { total: number; healthy: number; items: (Agent & { healthy: boolean })[] };
}

export interface Repository {
  registry_id: number;
  registry: string;
  repository: string;
  images: number;
  tags: number;
  last_pushed_at: string;
  vulnerabilities: SeverityCounts;
}

/// The answer of a route that tries a connection (a registry, a notification target).
export interface ConnectionCheck {
  ok: boolean;
  message: string;
}

/// POSTs to such a route; a refused request is a failed check with the server's message.
export async function tryConnection(path: string): Promise<ConnectionCheck> {
  try {
    return await call<ConnectionCheck>(path, { method: 'POST', body: {} });
  } catch (e) {
    return { ok: false, message: e instanceof ApiError ? e.message : String(e) };
  }
}

export interface Registry {
  id: number;
  name: string;
  url: string;
  username: string;
  has_secret: boolean;
  poll_seconds: number;
  created_at: string;
  last_polled_at: string;
  last_event_at: string;
  last_error: string;
}

export interface Host {
  id: string;
  name: string;
  agent_id: string;
  os: string;
  kernel: string;
  docker_version: string;
  last_report_at: string;
  cis: { passed: number; failed: number };
}

export interface HostContainer {
  id: string;
  name: string;
  image: string;
  image_id: string;
  image_digest: string;
  state: string;
  started_at: string;
}

export interface HostDetail extends Host {
  containers: HostContainer[];
}

export interface CisCheck {
  id: string;
  title: string;
  severity: string;
  evidence: string;
  remediation: string;
  first_seen: string;
}

export interface HostCis {
  host_id: string;
  passed: number;
  failed: number;
  percent: number | null;
  last_report_at: string;
  sections: { section: string; title: string; failed: CisCheck[] }[];
}

export interface Cluster {
  id: string;
  name: string;
  uid: string;
  agent_id: string;
  server: string;
  context: string;
  last_report_at: string;
  checks: { passed: number; failed: number };
  workloads: number;
  nodes: number;
  findings: SeverityCounts;
}

/** A Kubernetes node as the cluster agent reports it (GET /api/v1/clusters/{id}/nodes). */
export interface ClusterNode {
  name: string;
  cluster_id: string;
  kubelet_version: string;
  os_image: string;
  kernel: string;
  container_runtime: string;
  architecture: string;
  /** The Ready condition's status: "True", "False", "Unknown"; "" when not known. */
  ready: string;
  unschedulable: boolean;
  roles: string[];
  conditions: { type: string; status: string; reason: string; message: string }[];
  pods: number;
  containers: number;
  last_seen: string;
}

export interface ClusterNodeDetail extends ClusterNode {
  pod_items: { namespace: string; name: string; workload_id: string; phase: string; containers: number }[];
}

export interface ClusterDetail extends Cluster {
  namespaces: { name: string; workloads: number; findings: SeverityCounts }[];
  workloads_by_kind: Record<string, number>;
  /** The cluster agent's admission policy audit, counted by action; audited_at null before any. */
  admission_audit: { deny: number; warn: number; audit: number; audited_at: string | null };
}

/** An object the admission policies would deny, warn about or annotate
 * (GET /api/v1/clusters/{id}/admission-audit). */
export interface AdmissionAuditResult {
  namespace: string;
  kind: string;
  name: string;
  policy: string;
  action: 'deny' | 'warn' | 'audit';
  path: string;
  message: string;
}

export interface Workload {
  id: string;
  cluster_id: string;
  namespace: string;
  kind: string;
  name: string;
  last_seen: string;
  containers: { name: string; image: string; image_digest: string; init: boolean }[];
  findings: SeverityCounts;
}

export interface ImageUsage {
  containers: {
    host_id: string;
    host: string;
    id: string;
    name: string;
    image: string;
    state: string;
    started_at: string;
  }[];
  workloads: {
    id: string;
    cluster_id: string;
    namespace: string;
    kind: string;
    name: string;
    container: string;
  }[];
}

export interface DisableRule {
  id: number;
  name: string;
  created_by: string;
  created_at: string;
  [criterion: string]: unknown;
}

/// A notification target: the URL without its secret part, the headers by name only (their
/// values are write-only). Targets given as `moat server --notify` flags are read-only.
export interface NotificationTarget {
  id: number | null;
  name: string;
  kind: 'webhook' | 'slack' | 'syslog';
  url: string;
  min_priority: string;
  batch: boolean;
  header_names: string[];
  slack_blocks: boolean;
  syslog_facility: number;
  syslog_hostname: string;
  source: 'api' | 'config';
  read_only: boolean;
  created_by?: string;
  created_at?: string;
  updated_at?: string;
}

export type AdmissionAction = 'deny' | 'warn' | 'audit' | 'disabled';

/// One entry of the server's admission `policies:` section: one policy and its mode.
export interface AdmissionPolicyEntry {
  checks: [string];
  action: AdmissionAction;
}

/// A policy the admission webhook runs: a built-in check or an image policy.
export interface AdmissionCheck {
  id: string;
  group: string;
  title: string;
  severity: string;
  optional: boolean;
  bundle: boolean;
}

export interface User {
  id: number;
  name: string;
  role: Role;
  created_at: string;
  created_by: string;
  last_sign_in_at: string;
}

/// A sign-in session (GET /api/v1/sessions): a token of its user's role that expires.
export interface Session extends Token {
  user_id: number;
  expires_at: string;
}

export interface Token {
  id: number;
  name: string;
  role: Role;
  created_at: string;
  last_used_at: string;
  created_by: string;
}

/// The live alert stream (GET /api/v1/alerts/stream, server-sent events) read with fetch, which,
/// unlike EventSource, sends the token in the Authorization header. Reconnects after a drop,
/// resuming after the last alert seen; returns a function that stops it.
export function streamAlerts(
  onAlert: (alert: StoredAlert) => void,
  onState: (connected: boolean) => void = () => {},
): () => void {
  const controller = new AbortController();
  let lastId = '';
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const headers: Record<string, string> = {
          Accept: 'text/event-stream',
          Authorization: `Bearer ${storedToken()}`,
        };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const response = await fetch('/api/v1/alerts/stream', {
          headers,
          signal: controller.signal,
          cache: 'no-store',
        });
        if (response.status === 401) {
          onUnauthorized();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = 'message';
            let id = '';
            const data: string[] = [];
            for (const line of event.split('\n')) {
              if (line.startsWith('event:')) name = line.slice(6).trim();
              else if (line.startsWith('id:')) id = line.slice(3).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            }
            if (name === 'alert' && data.length) {
              if (id) lastId = id;
              onAlert(JSON.parse(data.join('\n')) as StoredAlert);
            }
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => controller.abort();
}
