// Light, dark, or the system's choice (prefers-color-scheme, followed as it changes), remembered
// in localStorage. The resolved theme is always in <html data-theme>, which app.css reads.
export type Theme = 'light' | 'dark' | 'system';

const key = 'moat.theme';
const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

export function currentTheme(): Theme {
  const value = localStorage.getItem(key);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(theme: Theme): void {
  if (theme === 'system') localStorage.removeItem(key);
  else localStorage.setItem(key, theme);
  const resolved = theme === 'system' ? (systemDark.matches ? 'dark' : 'light') : theme;
  document.documentElement.dataset.theme = resolved;
  // Charts read their colours when drawn: they redraw on this.
  window.dispatchEvent(new CustomEvent('moat-theme'));
}

systemDark.addEventListener('change', () => {
  if (currentTheme() === 'system') applyTheme('system');
});
