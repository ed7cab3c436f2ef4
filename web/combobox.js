// An editable combobox with list autocomplete and manual selection, after the ARIA 1.2
// Authoring Practices pattern: the input keeps DOM focus, the active option is designated
// with aria-activedescendant; ↓/↑ move, Entrée chooses (the first option when none is active),
// Échap closes (then clears).

let counter = 0;

/**
 * @param {object} o
 * @param {string} o.label            visible label of the input
 * @param {string} [o.hint]           help text under the label
 * @param {(query: string, signal: AbortSignal) => Promise<any[]>} o.search
 * @param {(item: any) => Node|string} o.optionContent   content of one option
 * @param {(item: any) => string} o.optionValue          text put in the input once chosen
 * @param {(item: any) => void} o.onSelect
 * @param {(n: number) => string} [o.countMessage]       announced when results arrive
 * @param {(q: string) => string} [o.emptyMessage]
 * @param {(err: any) => string} [o.errorMessage]
 * @param {number} [o.minLength=2]
 * @param {number} [o.delay=150]      debounce, in milliseconds
 * @returns {HTMLElement}
 */
export function createCombobox(o) {
  const id = `combobox-${++counter}`;
  const minLength = o.minLength ?? 2;
  const delay = o.delay ?? 150;

  const root = el('div', 'combobox');
  const labelEl = el('label', 'combobox-label');
  labelEl.id = `${id}-label`;
  labelEl.htmlFor = `${id}-input`;
  labelEl.textContent = o.label;
  root.append(labelEl);

  const describedBy = [];
  if (o.hint) {
    const hint = el('p', 'hint');
    hint.id = `${id}-hint`;
    hint.textContent = o.hint;
    root.append(hint);
    describedBy.push(hint.id);
  }

  const field = el('div', 'combobox-field');
  const input = el('input', 'combobox-input');
  Object.assign(input, { id: `${id}-input`, type: 'text', autocomplete: 'off', spellcheck: false });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', `${id}-listbox`);
  input.setAttribute('autocapitalize', 'off');
  if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));

  const listbox = el('ul', 'combobox-listbox');
  listbox.id = `${id}-listbox`;
  listbox.setAttribute('role', 'listbox');
  listbox.setAttribute('aria-labelledby', labelEl.id);
  listbox.hidden = true;
  field.append(input, listbox);

  const status = el('p', 'combobox-status visually-hidden');
  status.id = `${id}-status`;
  status.setAttribute('role', 'status');
  root.append(field, status);

  let items = [];
  let itemsQuery = null; // the query the current items answer
  let active = -1;
  let timer = 0;
  let controller = null;
  let seq = 0;
  let wantFirst = false;
  let chooseFirst = false; // Entrée pressed while the search runs: choose its first option

  function setStatus(text, visible = false) {
    status.textContent = text;
    status.classList.toggle('visually-hidden', !visible);
  }

  function isOpen() {
    return !listbox.hidden;
  }

  function open() {
    if (items.length === 0) return;
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    setActive(-1);
  }

  function setActive(i) {
    const options = listbox.children;
    if (active >= 0 && options[active]) {
      options[active].setAttribute('aria-selected', 'false');
      options[active].classList.remove('is-active');
    }
    active = i;
    if (i >= 0 && options[i]) {
      options[i].setAttribute('aria-selected', 'true');
      options[i].classList.add('is-active');
      input.setAttribute('aria-activedescendant', options[i].id);
      options[i].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function render() {
    listbox.replaceChildren();
    active = -1;
    input.removeAttribute('aria-activedescendant');
    items.forEach((item, i) => {
      const li = el('li', 'combobox-option');
      li.id = `${id}-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.append(o.optionContent(item));
      li.addEventListener('mousedown', (e) => e.preventDefault()); // keep focus in the input
      li.addEventListener('click', () => choose(i));
      listbox.append(li);
    });
  }

  function choose(i) {
    const item = items[i];
    if (!item) return;
    input.value = o.optionValue(item);
    itemsQuery = null;
    close();
    setStatus('');
    o.onSelect(item);
  }

  function cancelPending() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = null;
    field.classList.remove('is-busy');
  }

  async function runSearch(query) {
    const mine = ++seq;
    controller = new AbortController();
    field.classList.add('is-busy');
    try {
      const found = await o.search(query, controller.signal);
      if (mine !== seq) return;
      items = found;
      itemsQuery = query;
      render();
      if (chooseFirst && items.length) {
        chooseFirst = false;
        choose(0);
        return;
      }
      if (items.length === 0) {
        close();
        setStatus(o.emptyMessage ? o.emptyMessage(query) : 'Aucun résultat.', true);
      } else {
        open();
        setStatus(o.countMessage ? o.countMessage(items.length) : `${items.length} résultats.`);
        if (wantFirst) setActive(0);
      }
    } catch (err) {
      if (mine !== seq || (err && err.name === 'AbortError')) return;
      items = [];
      itemsQuery = null;
      render();
      close();
      setStatus(o.errorMessage ? o.errorMessage(err) : 'La recherche a échoué.', true);
    } finally {
      if (mine === seq) {
        field.classList.remove('is-busy');
        controller = null;
        wantFirst = false;
      }
    }
  }

  input.addEventListener('input', () => {
    cancelPending();
    seq++;
    wantFirst = false;
    chooseFirst = false;
    const query = input.value.trim();
    if (query.length < minLength) {
      items = [];
      itemsQuery = null;
      render();
      close();
      setStatus('');
      return;
    }
    field.classList.add('is-busy');
    timer = setTimeout(() => runSearch(query), delay);
  });

  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    const n = items.length;
    const current = itemsQuery !== null && itemsQuery === input.value.trim();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (isOpen()) setActive(active + 1 < n ? active + 1 : 0);
        else if (current && n) {
          open();
          if (!e.altKey) setActive(0);
        } else if (field.classList.contains('is-busy')) wantFirst = !e.altKey;
        break;
      case 'ArrowUp':
        e.preventDefault();
        if (isOpen()) setActive(active > 0 ? active - 1 : n - 1);
        else if (current && n) {
          open();
          setActive(n - 1);
        }
        break;
      case 'Enter':
        // Entrée chooses the active option, else the first one proposed for what is typed
        // (once it arrives, if the search is still running).
        if (isOpen() && active >= 0) {
          e.preventDefault();
          choose(active);
        } else if (current && n) {
          e.preventDefault();
          choose(0);
        } else if (field.classList.contains('is-busy') && input.value.trim().length >= minLength) {
          e.preventDefault();
          chooseFirst = true;
        }
        break;
      case 'Escape':
        if (isOpen()) {
          e.preventDefault();
          close();
        } else if (input.value) {
          e.preventDefault();
          cancelPending();
          seq++;
          input.value = '';
          items = [];
          itemsQuery = null;
          render();
          setStatus('');
        }
        break;
      case 'Tab':
        close();
        break;
      default:
    }
  });

  input.addEventListener('blur', () => close());
  input.addEventListener('click', () => {
    if (!isOpen() && itemsQuery !== null && itemsQuery === input.value.trim()) open();
  });

  return root;
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}
