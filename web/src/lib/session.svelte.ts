// Who is signed in: the token lives in sessionStorage (gone with the tab), the role comes from
// GET /api/v1/whoami.
import { call, storeToken, storedToken, whoami, type Whoami } from './api';

class Session {
  me = $state<Whoami | null>(null);
  checking = $state(storedToken() !== '');

  async restore(): Promise<void> {
    if (!storedToken()) {
      this.checking = false;
      return;
    }
    try {
      this.me = await whoami(storedToken());
    } catch {
      storeToken('');
      this.me = null;
    } finally {
      this.checking = false;
    }
  }

  async signIn(token: string): Promise<void> {
    const me = await whoami(token);
    storeToken(token);
    this.me = me;
  }

  /// Sign-out: a sign-in session also ends on the server, so a copy of its token is worthless. An
  /// API token stays valid (the server answers 409: an admin revokes it).
  async end(): Promise<void> {
    try {
      await call('/api/v1/sessions/current', { method: 'DELETE' });
    } catch {
      // An API token, or a session that had ended already.
    }
    this.signOut();
  }

  signOut(): void {
    storeToken('');
    this.me = null;
  }
}

export const session = new Session();
