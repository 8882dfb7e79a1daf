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
  findings: UnhealthyFinding[];
}

export interface RecommendationDetail extends Recommendation {
  unhealthy: UnhealthyResource[];
}

export interface ScoreControl {
  control: string;
  max_points: number;
  points: number;
  healthy: number;
  total: number;
}

export interface Score {
  points: number;
  max_points: number;
  percent: number;
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
