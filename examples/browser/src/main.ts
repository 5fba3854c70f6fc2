import { type StoredEvent, subscribe } from '@strata/core';
import { createPgliteStore } from '@strata/pglite';
import { addTodo, apply, completeTodo, STREAM, type Todo } from './todos.js';

// `?storage=memory` keeps the list in memory only: the test uses it to prove that its reload check
// notices lost events.
const dataDir = new URLSearchParams(location.search).get('storage') === 'memory' ? 'memory://' : 'idb://strata-todos';

const status = document.querySelector('#status') as HTMLElement;
const form = document.querySelector('#add') as HTMLFormElement;
const input = form.querySelector('input') as HTMLInputElement;
const list = document.querySelector('#list') as HTMLUListElement;
const log = document.querySelector('#log') as HTMLOListElement;

const store = await createPgliteStore({ dataDir }).catch((error: unknown) => {
  status.textContent = `Could not open the store: ${error instanceof Error ? error.message : String(error)}`;
  document.body.dataset.error = status.textContent;
  throw error;
});
const todos = new Map<string, Todo>();
let handled = 0;

/** Shows why an append failed (the list on screen only changes through the subscription). */
function report(error: unknown): void {
  status.textContent = `Could not record that: ${error instanceof Error ? error.message : String(error)}`;
}

function render(): void {
  list.replaceChildren(
    ...[...todos.values()].map((todo) => {
      const item = document.createElement('li');
      item.dataset.id = todo.id;
      item.classList.toggle('done', todo.done);
      const title = document.createElement('span');
      title.textContent = todo.title;
      item.append(title);
      if (!todo.done) {
        const done = document.createElement('button');
        done.textContent = 'Complete';
        done.addEventListener('click', () => completeTodo(store, todo.id).catch(report));
        item.append(done);
      }
      return item;
    }),
  );
  status.textContent = `${handled} events in ${dataDir}`;
}

function logEvent(event: StoredEvent): void {
  const line = document.createElement('li');
  line.textContent = `#${event.position} ${event.type} ${JSON.stringify(event.data)}`;
  log.append(line);
}

// The view is a projection: every event of the stream, from the start, as it is appended.
subscribe(store, {
  streamId: STREAM,
  from: 'start',
  handler(event) {
    apply(todos, event);
    logEvent(event);
    handled++;
    render();
  },
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const title = input.value.trim();
  if (title === '') return;
  input.value = '';
  addTodo(store, title).catch(report);
});

for (const control of form.elements) (control as HTMLInputElement).disabled = false;
render();

/** What the test reads: the stored events themselves, and how many the view has handled. */
const hook = {
  handled: () => handled,
  async events() {
    const out: { id: string; version: number; position: string; type: string; data: unknown }[] = [];
    for await (const e of store.events.readStream(STREAM)) out.push({ id: e.id, version: e.version, position: String(e.position), type: e.type, data: e.data });
    return out;
  },
};
(window as unknown as { strataTodos: typeof hook }).strataTodos = hook;
document.body.dataset.ready = 'true';
