// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no canvas: Grafana's Combobox measures option labels with a 2D
// context, so give it one that measures text at a fixed width per character.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return { font: '', measureText: (text) => ({ width: String(text).length * 8 }) };
};

// Nor does it have the observers the Combobox's floating menu uses; they
// only report layout, which jsdom does not do.
class NoLayoutObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
global.IntersectionObserver = global.IntersectionObserver || NoLayoutObserver;
global.ResizeObserver = global.ResizeObserver || NoLayoutObserver;

// The Combobox's menu is virtualised: it renders only the options that fit
// its scroll box's client size, which jsdom reports as 0×0.
for (const prop of ['clientWidth', 'clientHeight']) {
  Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => 400 });
}
