import type { NewEvent, StoredEvent } from '@strata/core';

/** The state of a bank account, folded from its events (JSON, so that it can be snapshotted). */
export type Account = { owner: string | null; balance: number; open: boolean; movements: number };

/** The events of an account stream. */
export type AccountEvent =
  | StoredEvent<'AccountOpened', { owner: string }>
  | StoredEvent<'Deposited', { amount: number }>
  | StoredEvent<'Withdrawn', { amount: number }>;

/** A new account. */
export const initialAccount = (): Account => ({ owner: null, balance: 0, open: false, movements: 0 });

/** Applies one event. */
export function evolve(state: Account, event: AccountEvent): Account {
  switch (event.type) {
    case 'AccountOpened':
      return { ...state, owner: event.data.owner, open: true };
    case 'Deposited':
      return { ...state, balance: state.balance + event.data.amount, movements: state.movements + 1 };
    case 'Withdrawn':
      return { ...state, balance: state.balance - event.data.amount, movements: state.movements + 1 };
  }
}

/** Decides the events of a command against the current state, or throws when it is not allowed. */
export const commands = {
  open:
    (owner: string) =>
    (state: Account): NewEvent[] => {
      if (state.open) throw new Error('account already open');
      return [{ type: 'AccountOpened', data: { owner } }];
    },
  deposit:
    (amount: number) =>
    (state: Account): NewEvent[] => {
      if (!state.open) throw new Error('account not open');
      return [{ type: 'Deposited', data: { amount } }];
    },
  withdraw:
    (amount: number) =>
    (state: Account): NewEvent[] => {
      if (state.balance < amount) throw new Error(`insufficient funds: balance ${state.balance}, asked ${amount}`);
      return [{ type: 'Withdrawn', data: { amount } }];
    },
};
