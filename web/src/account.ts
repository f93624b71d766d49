// Who is signed in, for every page: what the token's role allows decides which controls a
// page offers at all (a read token sees no Start run, no Unlock).

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Account, Role } from './api';

export const AccountContext = createContext<Account | null>(null);

export function useAccount(): Account | null {
  return useContext(AccountContext);
}

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** Whether the account's role includes `role`. */
export function can(account: Account | null, role: Role): boolean {
  return account !== null && RANK[account.role] >= RANK[role];
}
