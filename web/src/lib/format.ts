// Severities, priorities and times as the pages show them.

export const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type Severity = (typeof severities)[number];

export const severityLabel: Record<Severity, string> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  MEDIUM: 'Medium',
  LOW: 'Low',
  UNKNOWN: 'Unknown',
};

export function normalSeverity(text: string): Severity {
  const upper = text.toUpperCase();
  return (severities as readonly string[]).includes(upper) ? (upper as Severity) : 'UNKNOWN';
}

export function severityRank(text: string): number {
  return severities.indexOf(normalSeverity(text));
}

/// Falco's priorities (docs/alerts.md), most severe first, and the severity colour each wears.
export const priorities = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
] as const;

export function prioritySeverity(priority: string): Severity {
  switch (priority) {
    case 'Emergency':
    case 'Alert':
    case 'Critical':
      return 'CRITICAL';
    case 'Error':
      return 'HIGH';
    case 'Warning':
      return 'MEDIUM';
    case 'Notice':
      return 'LOW';
    default:
      return 'UNKNOWN';
  }
}

export function formatTime(text: string): string {
  if (!text) return '—';
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, 'Z');
}

export function ago(text: string, now = Date.now()): string {
  if (!text) return 'never';
  const seconds = Math.round((now - new Date(text).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function shortDigest(digest: string): string {
  const at = digest.indexOf(':');
  return at < 0 ? digest.slice(0, 12) : digest.slice(0, at + 13);
}

export function imageName(image: { digest: string; locations: { registry: string; repository: string; tags: string[] }[] }): string {
  const location = image.locations[0];
  if (!location) return shortDigest(image.digest);
  const tag = location.tags[0] ? `:${location.tags[0]}` : '';
  return `${location.repository}${tag}`;
}

/// An agent is healthy while its heartbeats arrive (agents send one a minute: docs/agent.md).
export const agentStaleSeconds = 5 * 60;

export function agentHealthy(lastHeartbeat: string, now = Date.now()): boolean {
  if (!lastHeartbeat) return false;
  return now - new Date(lastHeartbeat).getTime() <= agentStaleSeconds * 1000;
}
