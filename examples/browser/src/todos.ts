import type { StoredEvent, StrataStore } from '@strata/core';

/** The stream that holds the list's history. */
export const STREAM = 'todos';

/** What happened to the list: the only thing stored. */
export type TodoEvent = { type: 'TodoAdded'; data: { id: string; title: string } } | { type: 'TodoCompleted'; data: { id: string } };

/** One item of the list, as the view shows it. */
export interface Todo {
  id: string;
  title: string;
  done: boolean;
}

/** Folds one stored event into the list (a projection kept in memory). */
export function apply(todos: Map<string, Todo>, event: StoredEvent): void {
  const data = event.data as Record<string, string>;
  if (event.type === 'TodoAdded') todos.set(data.id as string, { id: data.id as string, title: data.title as string, done: false });
  else if (event.type === 'TodoCompleted') {
    const todo = todos.get(data.id as string);
    if (todo !== undefined) todo.done = true;
  }
}

/** Records that an item was added. */
export async function addTodo(store: StrataStore, title: string): Promise<void> {
  const event: TodoEvent = { type: 'TodoAdded', data: { id: crypto.randomUUID(), title } };
  await store.events.append(STREAM, [event]);
}

/** Records that an item was completed. */
export async function completeTodo(store: StrataStore, id: string): Promise<void> {
  const event: TodoEvent = { type: 'TodoCompleted', data: { id } };
  await store.events.append(STREAM, [event], { expectedVersion: 'stream_exists' });
}
