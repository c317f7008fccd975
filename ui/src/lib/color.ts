// One stable colour per service, the same on every page and in both themes.
const PALETTE = [
  '#2f7fd8', '#e0782f', '#2aa876', '#9b59d0', '#d4a017',
  '#18a3b5', '#d9508a', '#6a8b2c', '#8a6a4f', '#5468d4',
];

export function serviceColor(service: string): string {
  let h = 2166136261;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length];
}
