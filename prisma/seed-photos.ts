/**
 * Demo photos drawn locally (nothing downloaded): one simple SVG drawing per kind of object - a
 * phone, a bicycle, a stack of books, a tent - in the item's colour, on a light table top with a
 * soft shadow, from a few "angles" (zoom, tilt, background). sharp renders the SVG and the
 * catalog's own pipeline (processImage) turns it into the three WebP sizes, as for an upload.
 */
import sharp from 'sharp';
import { processImage, type ProcessedPhoto } from '../src/modules/catalog/photos.js';
import type { Shape } from './seed-items.js';

const S = 800;
const BACKGROUNDS = ['#f3efe8', '#e8eef3', '#eef0ea', '#f5ecec'];

/** Darker or lighter shade of a #rrggbb colour (f < 1 darker, > 1 lighter). */
function shade(hex: string, f: number): string {
  const n = parseInt(hex.slice(1), 16);
  const ch = (v: number) => Math.max(0, Math.min(255, Math.round(f > 1 ? v + (255 - v) * (f - 1) : v * f)));
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(ch);
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}

/** The object, drawn around (400, 400) in an 800 box. */
function draw(shape: Shape, c: string): string {
  const d = shade(c, 0.7);
  const l = shade(c, 1.35);
  const ink = '#1f2937';
  switch (shape) {
    case 'phone':
      return `<rect x="290" y="150" width="220" height="450" rx="36" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="308" y="180" width="184" height="380" rx="18" fill="#0f172a"/><circle cx="400" cy="580" r="8" fill="${d}"/><rect x="370" y="162" width="60" height="8" rx="4" fill="${d}"/>`;
    case 'tablet':
      return `<rect x="200" y="170" width="400" height="420" rx="30" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="222" y="192" width="356" height="376" rx="12" fill="#0f172a"/><rect x="300" y="300" width="200" height="120" rx="8" fill="${l}" opacity=".35"/>`;
    case 'laptop':
      return `<rect x="190" y="180" width="420" height="270" rx="14" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="210" y="198" width="380" height="234" rx="6" fill="#0f172a"/><path d="M140 470 L660 470 L620 520 L180 520 Z" fill="${l}" stroke="${d}" stroke-width="6"/><rect x="350" y="478" width="100" height="14" rx="7" fill="${d}"/>`;
    case 'camera':
      return `<rect x="200" y="260" width="400" height="260" rx="30" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="250" y="225" width="110" height="50" rx="10" fill="${d}"/><circle cx="400" cy="390" r="95" fill="${d}"/><circle cx="400" cy="390" r="70" fill="#111827"/><circle cx="380" cy="370" r="18" fill="#9ca3af" opacity=".7"/><circle cx="540" cy="300" r="14" fill="#f59e0b"/>`;
    case 'headphones':
      return `<path d="M240 430 C240 220 560 220 560 430" fill="none" stroke="${d}" stroke-width="34" stroke-linecap="round"/><rect x="195" y="400" width="100" height="170" rx="44" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="505" y="400" width="100" height="170" rx="44" fill="${c}" stroke="${d}" stroke-width="6"/>`;
    case 'speaker':
      return `<rect x="220" y="220" width="360" height="340" rx="24" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="240" y="240" width="320" height="220" rx="10" fill="${l}" opacity=".25"/><circle cx="330" cy="510" r="16" fill="#d4a373"/><circle cx="400" cy="510" r="16" fill="#d4a373"/><circle cx="470" cy="510" r="16" fill="#d4a373"/>`;
    case 'watch':
      return `<rect x="350" y="140" width="100" height="520" rx="30" fill="${d}"/><rect x="290" y="270" width="220" height="260" rx="56" fill="${c}" stroke="${ink}" stroke-width="8"/><rect x="312" y="292" width="176" height="216" rx="40" fill="#0f172a"/><line x1="400" y1="400" x2="400" y2="330" stroke="#f8fafc" stroke-width="8" stroke-linecap="round"/><line x1="400" y1="400" x2="450" y2="420" stroke="#f97316" stroke-width="6" stroke-linecap="round"/>`;
    case 'appliance':
      return `<rect x="230" y="220" width="340" height="340" rx="28" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="260" y="260" width="200" height="150" rx="14" fill="${d}" opacity=".55"/><circle cx="520" cy="300" r="22" fill="${d}"/><circle cx="520" cy="370" r="14" fill="${d}"/><rect x="260" y="450" width="280" height="24" rx="12" fill="${d}" opacity=".5"/>`;
    case 'vacuum':
      return `<rect x="385" y="140" width="30" height="360" rx="15" fill="${d}"/><rect x="330" y="170" width="140" height="130" rx="40" fill="${c}" stroke="${d}" stroke-width="6"/><path d="M300 520 L500 520 L520 580 L280 580 Z" fill="${c}" stroke="${d}" stroke-width="6"/>`;
    case 'fan':
      return `<circle cx="400" cy="330" r="170" fill="${c}" stroke="${d}" stroke-width="10"/><circle cx="400" cy="330" r="40" fill="${d}"/><path d="M400 330 C330 230 430 190 400 330 M400 330 C500 300 480 400 400 330 M400 330 C330 420 280 330 400 330" fill="${l}" stroke="${d}" stroke-width="4"/><rect x="385" y="500" width="30" height="70" fill="${d}"/><rect x="300" y="570" width="200" height="26" rx="13" fill="${d}"/>`;
    case 'chair':
      return `<rect x="300" y="170" width="200" height="220" rx="30" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="270" y="400" width="260" height="50" rx="20" fill="${c}" stroke="${d}" stroke-width="6"/><line x1="300" y1="450" x2="270" y2="600" stroke="${d}" stroke-width="16" stroke-linecap="round"/><line x1="500" y1="450" x2="530" y2="600" stroke="${d}" stroke-width="16" stroke-linecap="round"/>`;
    case 'table':
      return `<rect x="150" y="320" width="500" height="44" rx="10" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="190" y="364" width="28" height="230" fill="${d}"/><rect x="582" y="364" width="28" height="230" fill="${d}"/>`;
    case 'drawer':
      return `<rect x="250" y="160" width="300" height="440" rx="10" fill="${c}" stroke="#9ca3af" stroke-width="6"/>${[0, 1, 2, 3, 4].map((i) => `<rect x="268" y="${178 + i * 84}" width="264" height="72" rx="6" fill="${l}" stroke="#d1d5db" stroke-width="4"/><rect x="370" y="${208 + i * 84}" width="60" height="10" rx="5" fill="#9ca3af"/>`).join('')}`;
    case 'lamp':
      return `<path d="M300 330 L500 330 L450 190 L350 190 Z" fill="${c}" stroke="${d}" stroke-width="6"/><line x1="400" y1="330" x2="400" y2="560" stroke="${d}" stroke-width="14"/><ellipse cx="400" cy="575" rx="110" ry="24" fill="${d}"/><ellipse cx="400" cy="345" rx="60" ry="12" fill="#fde68a"/>`;
    case 'plant':
      return `<path d="M310 450 L490 450 L460 600 L340 600 Z" fill="#b45309"/><path d="M400 450 C300 400 250 300 300 230 C360 300 390 360 400 450 Z" fill="${c}"/><path d="M400 450 C500 410 560 310 510 220 C440 300 410 360 400 450 Z" fill="${shade(c, 1.2)}"/><path d="M400 450 C390 350 400 230 420 160 C450 260 430 360 400 450 Z" fill="${d}"/>`;
    case 'mirror':
      return `<circle cx="400" cy="370" r="210" fill="${c}"/><circle cx="400" cy="370" r="180" fill="#dbeafe"/><path d="M300 300 L360 240 M320 360 L420 260" stroke="#fff" stroke-width="14" stroke-linecap="round" opacity=".8"/>`;
    case 'coat':
      return `<path d="M330 170 L470 170 L560 240 L600 560 L520 560 L510 320 L500 620 L300 620 L290 320 L280 560 L200 560 L240 240 Z" fill="${c}" stroke="${d}" stroke-width="6"/><path d="M360 170 L400 260 L440 170" fill="none" stroke="${d}" stroke-width="6"/><line x1="400" y1="260" x2="400" y2="620" stroke="${d}" stroke-width="4"/>${[330, 400, 470].map((y) => `<circle cx="420" cy="${y}" r="8" fill="${d}"/>`).join('')}`;
    case 'shirt':
      return `<path d="M320 190 L480 190 L590 260 L550 340 L500 310 L500 600 L300 600 L300 310 L250 340 L210 260 Z" fill="${c}" stroke="${d}" stroke-width="6"/><path d="M355 190 C370 235 430 235 445 190" fill="none" stroke="${d}" stroke-width="6"/>`;
    case 'shoe':
      return `<path d="M170 480 C190 380 260 330 320 330 L380 360 C430 390 480 400 560 410 C620 420 640 450 640 490 L640 520 L170 520 Z" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="160" y="515" width="490" height="34" rx="14" fill="${d}"/>${[0, 1, 2].map((i) => `<line x1="${330 + i * 36}" y1="${360 + i * 10}" x2="${360 + i * 36}" y2="${400 + i * 6}" stroke="#f8fafc" stroke-width="6"/>`).join('')}`;
    case 'bag':
      return `<path d="M320 300 C320 190 480 190 480 300" fill="none" stroke="${d}" stroke-width="20"/><path d="M220 300 L580 300 L550 600 L250 600 Z" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="370" y="340" width="60" height="30" rx="6" fill="${d}"/>`;
    case 'books':
      return [0, 1, 2, 3, 4]
        .map(
          (i) =>
            `<rect x="${230 + (i % 2) * 20}" y="${560 - i * 70}" width="${340 - (i % 3) * 20}" height="62" rx="6" fill="${shade(c, 0.75 + i * 0.12)}" stroke="${d}" stroke-width="4"/><rect x="${250 + (i % 2) * 20}" y="${575 - i * 70}" width="120" height="10" rx="5" fill="#f8fafc" opacity=".7"/>`,
        )
        .join('');
    case 'bicycle':
      return `<circle cx="250" cy="470" r="120" fill="none" stroke="${ink}" stroke-width="16"/><circle cx="550" cy="470" r="120" fill="none" stroke="${ink}" stroke-width="16"/><path d="M250 470 L360 300 L520 300 L550 470 M360 300 L420 470 L520 300 M420 470 L250 470" fill="none" stroke="${c}" stroke-width="18" stroke-linejoin="round"/><line x1="340" y1="270" x2="390" y2="270" stroke="${ink}" stroke-width="16" stroke-linecap="round"/><path d="M520 300 L510 240 L560 230" fill="none" stroke="${ink}" stroke-width="12" stroke-linecap="round"/>`;
    case 'tent':
      return `<path d="M140 590 L400 190 L660 590 Z" fill="${c}" stroke="${d}" stroke-width="8" stroke-linejoin="round"/><path d="M400 190 L340 590 L460 590 Z" fill="${d}"/><line x1="400" y1="190" x2="400" y2="150" stroke="${ink}" stroke-width="8"/>`;
    case 'golf':
      return `<line x1="300" y1="150" x2="420" y2="540" stroke="#9ca3af" stroke-width="14" stroke-linecap="round"/><rect x="270" y="130" width="50" height="110" rx="14" fill="${ink}" transform="rotate(-17 295 185)"/><path d="M400 520 L520 540 L520 590 L390 580 Z" fill="${c}" stroke="${d}" stroke-width="6"/><circle cx="580" cy="580" r="26" fill="#fff" stroke="#d1d5db" stroke-width="4"/>`;
    case 'dumbbell':
      return `<rect x="250" y="385" width="300" height="30" rx="10" fill="#9ca3af"/><rect x="200" y="300" width="60" height="200" rx="14" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="540" y="300" width="60" height="200" rx="14" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="160" y="330" width="44" height="140" rx="12" fill="${d}"/><rect x="596" y="330" width="44" height="140" rx="12" fill="${d}"/>`;
    case 'gamepad':
      return `<path d="M220 320 C260 270 540 270 580 320 C640 400 660 560 590 570 C540 580 510 500 470 480 L330 480 C290 500 260 580 210 570 C140 560 160 400 220 320 Z" fill="${c}" stroke="${d}" stroke-width="8"/><rect x="255" y="370" width="80" height="24" rx="6" fill="${ink}"/><rect x="283" y="342" width="24" height="80" rx="6" fill="${ink}"/>${[
        [520, 350, '#22c55e'],
        [560, 390, '#ef4444'],
        [480, 390, '#3b82f6'],
        [520, 430, '#eab308'],
      ]
        .map(([x, y, f]) => `<circle cx="${x}" cy="${y}" r="18" fill="${f}"/>`)
        .join('')}`;
    case 'blocks':
      return [
        [240, 430, c],
        [400, 430, shade(c, 0.75)],
        [320, 290, shade(c, 1.25)],
      ]
        .map(
          ([x, y, f]) =>
            `<rect x="${x}" y="${y}" width="160" height="130" rx="8" fill="${f}" stroke="${d}" stroke-width="5"/><rect x="${Number(x) + 25}" y="${Number(y) - 22}" width="40" height="24" rx="6" fill="${f}" stroke="${d}" stroke-width="4"/><rect x="${Number(x) + 95}" y="${Number(y) - 22}" width="40" height="24" rx="6" fill="${f}" stroke="${d}" stroke-width="4"/>`,
        )
        .join('');
    case 'guitar':
      return `<rect x="385" y="110" width="30" height="300" fill="#78350f"/><rect x="370" y="90" width="60" height="50" rx="10" fill="${ink}"/><path d="M400 380 C300 360 260 440 300 490 C240 560 300 660 400 640 C500 660 560 560 500 490 C540 440 500 360 400 380 Z" fill="${c}" stroke="${d}" stroke-width="6"/><circle cx="400" cy="500" r="34" fill="${ink}"/><rect x="360" y="570" width="80" height="16" rx="4" fill="${ink}"/>`;
    case 'piano':
      return `<rect x="130" y="300" width="540" height="190" rx="14" fill="${c}"/><rect x="150" y="380" width="500" height="90" fill="#fff"/>${Array.from({ length: 14 }, (_, i) => `<line x1="${150 + i * 35.7}" y1="380" x2="${150 + i * 35.7}" y2="470" stroke="#9ca3af" stroke-width="2"/>`).join('')}${[0, 1, 3, 4, 5, 7, 8, 10, 11, 12].map((i) => `<rect x="${174 + i * 35.7}" y="380" width="22" height="55" fill="${ink}"/>`).join('')}<rect x="190" y="490" width="20" height="100" fill="${d}"/><rect x="590" y="490" width="20" height="100" fill="${d}"/>`;
    case 'boardgame':
      return `<rect x="190" y="230" width="420" height="320" rx="12" fill="${c}" stroke="${d}" stroke-width="6" transform="rotate(-4 400 390)"/><polygon points="400,300 460,335 460,405 400,440 340,405 340,335" fill="${l}" stroke="${d}" stroke-width="5"/><circle cx="520" cy="480" r="20" fill="#fde047"/><rect x="250" y="460" width="50" height="50" rx="8" fill="#fff" stroke="${d}" stroke-width="4"/><circle cx="275" cy="485" r="7" fill="${ink}"/>`;
    case 'stroller':
      return `<path d="M230 300 C230 200 420 180 440 300 Z" fill="${c}" stroke="${d}" stroke-width="6"/><path d="M220 300 L500 300 L460 430 L260 430 Z" fill="${c}" stroke="${d}" stroke-width="6"/><line x1="500" y1="300" x2="580" y2="200" stroke="${ink}" stroke-width="12" stroke-linecap="round"/><circle cx="280" cy="520" r="50" fill="none" stroke="${ink}" stroke-width="14"/><circle cx="450" cy="520" r="50" fill="none" stroke="${ink}" stroke-width="14"/>`;
    case 'bottle':
      return `<rect x="330" y="280" width="140" height="320" rx="30" fill="${c}" stroke="${d}" stroke-width="6"/><rect x="365" y="200" width="70" height="90" rx="8" fill="${d}"/><rect x="350" y="380" width="100" height="110" rx="8" fill="#fff" opacity=".75"/><rect x="365" y="410" width="70" height="10" rx="5" fill="${d}"/>`;
    case 'lipstick':
      return `<rect x="340" y="380" width="120" height="230" rx="10" fill="${ink}"/><rect x="350" y="330" width="100" height="60" rx="6" fill="#d4af37"/><path d="M360 330 L360 220 L440 180 L440 330 Z" fill="${c}"/>`;
    case 'ticket':
      return `<path d="M170 280 L630 280 L630 360 C600 360 600 420 630 420 L630 500 L170 500 L170 420 C200 420 200 360 170 360 Z" fill="${c}" stroke="${d}" stroke-width="6"/><line x1="480" y1="290" x2="480" y2="490" stroke="#fff" stroke-width="6" stroke-dasharray="14 12"/><rect x="220" y="330" width="200" height="22" rx="11" fill="#fff" opacity=".85"/><rect x="220" y="380" width="140" height="16" rx="8" fill="#fff" opacity=".6"/>`;
    case 'pet':
      return `<rect x="220" y="280" width="360" height="300" rx="40" fill="${c}" stroke="${d}" stroke-width="6"/><path d="M320 280 C320 200 480 200 480 280" fill="none" stroke="${d}" stroke-width="18"/>${[0, 1, 2, 3, 4].map((i) => `<line x1="${280 + i * 60}" y1="330" x2="${280 + i * 60}" y2="540" stroke="${d}" stroke-width="8"/>`).join('')}`;
    case 'record':
      return `<circle cx="400" cy="390" r="210" fill="#111827"/><circle cx="400" cy="390" r="160" fill="none" stroke="#374151" stroke-width="4"/><circle cx="400" cy="390" r="120" fill="none" stroke="#374151" stroke-width="4"/><circle cx="400" cy="390" r="70" fill="${c}"/><circle cx="400" cy="390" r="10" fill="#f3f4f6"/>`;
    case 'figure':
      return `<rect x="330" y="560" width="140" height="30" rx="8" fill="${ink}"/><rect x="350" y="340" width="100" height="220" rx="30" fill="${c}" stroke="${d}" stroke-width="6"/><circle cx="400" cy="280" r="70" fill="#fcd9b6" stroke="${d}" stroke-width="6"/><path d="M320 260 C330 180 470 180 480 260 Z" fill="${d}"/><rect x="290" y="360" width="50" height="150" rx="22" fill="${c}" stroke="${d}" stroke-width="5"/><rect x="460" y="360" width="50" height="150" rx="22" fill="${c}" stroke="${d}" stroke-width="5"/>`;
  }
}

/** The SVG of one photo: the object on a table, from angle `view` (0, 1, 2). */
export function photoSvg(shape: Shape, color: string, view: number): string {
  const bg = BACKGROUNDS[view % BACKGROUNDS.length];
  const zoom = [1, 1.18, 0.9][view % 3];
  const tilt = [0, -6, 5][view % 3];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}" viewBox="0 0 ${S} ${S}">
  <rect width="${S}" height="${S}" fill="${bg}"/>
  <rect y="${S * 0.72}" width="${S}" height="${S * 0.28}" fill="${shade(bg, 0.93)}"/>
  <ellipse cx="400" cy="628" rx="${250 * zoom}" ry="${26 * zoom}" fill="#000" opacity=".12"/>
  <g transform="translate(400 400) rotate(${tilt}) scale(${zoom}) translate(-400 -400)">${draw(shape, color)}</g>
</svg>`;
}

/** Rendered and processed like an upload (three WebP sizes); cached per shape, colour and view. */
export function photoMaker() {
  const cache = new Map<string, Promise<ProcessedPhoto>>();
  return (shape: Shape, color: string, view: number): Promise<ProcessedPhoto> => {
    const key = `${shape}:${color}:${view}`;
    let p = cache.get(key);
    if (!p) {
      p = sharp(Buffer.from(photoSvg(shape, color, view)))
        .jpeg({ quality: 90 })
        .toBuffer()
        .then((jpg) => processImage(jpg, `seed-${shape}-${view}.jpg`));
      cache.set(key, p);
    }
    return p;
  };
}
