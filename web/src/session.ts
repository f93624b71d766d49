// The API token lives in sessionStorage only: gone when the tab closes, never sent anywhere
// but the Authorization header (no cookie, never in a URL).

const KEY = 'iacp.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the user signs in again on each load
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
