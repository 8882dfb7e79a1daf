// Client routes on the History API: the server answers every non-API path with index.html, so a
// link to /images?severity=CRITICAL can be shared and reloaded.

class Location {
  path = $state(window.location.pathname);
  search = $state(window.location.search);

  get query(): URLSearchParams {
    return new URLSearchParams(this.search);
  }
}

export const location = new Location();

function sync(): void {
  location.path = window.location.pathname;
  location.search = window.location.search;
}

export function navigate(href: string, replace = false): void {
  const url = new URL(href, window.location.href);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  sync();
  if (!replace) window.scrollTo(0, 0);
}

/// Replaces the current query (filters) without a new history entry per keystroke.
export function setQuery(values: Record<string, string>): void {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const search = params.toString();
  navigate(`${location.path}${search ? `?${search}` : ''}`, true);
}

window.addEventListener('popstate', sync);

// Plain same-origin links navigate in the page (modifier clicks and downloads keep the browser's
// behaviour).
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const parts = pattern.split('/').filter(Boolean);
  const segments = path.split('/').filter(Boolean);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segments[i]);
    else if (parts[i] !== segments[i]) return null;
  }
  return params;
}
