/** The `--clickhouse` URL, checked without loading the client (the config schema uses it). */

/** `http(s)://[user:password@]host[:port][/database]`: the URL checked, and its database. Otherwise what was expected (the caller adds what it got). */
export function parseClickHouseUrl(text: string): { url: URL; database: string } | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `a URL like http://host:8123[/database]`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `an http:// or https:// URL (ClickHouse's HTTP interface)`;
  if (url.hostname === '') return `a URL with a host`;
  const path = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  if (path.includes('/')) return `at most one path segment (the database) in the URL`;
  if (path !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(path)) return `a database name of letters, digits and _ in the URL`;
  return { url, database: path === '' ? 'default' : path };
}

