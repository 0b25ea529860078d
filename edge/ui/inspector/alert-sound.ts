/**
 * The alert sound: two short tones from the Web Audio API (no sound file to serve). Browsers
 * allow audio only after the user touched the page, so the context is created or resumed on the
 * first pointer or key press; until then `blocked` is true and the page says so. The officer's
 * choice (on / off) is kept in localStorage.
 */
const KEY = 'edge.inspector.sound';

export class AlertSound {
  private ctx: AudioContext | null = null;
  enabled = localStorage.getItem(KEY) !== 'off';

  constructor(private readonly onChange: () => void) {
    const unlock = () => {
      this.ensure();
      removeEventListener('pointerdown', unlock);
      removeEventListener('keydown', unlock);
    };
    addEventListener('pointerdown', unlock);
    addEventListener('keydown', unlock);
  }

  get blocked(): boolean {
    return this.enabled && (this.ctx === null || this.ctx.state !== 'running');
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    localStorage.setItem(KEY, on ? 'on' : 'off');
    if (on) this.ensure();
    this.onChange();
  }

  private ensure(): void {
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state === 'suspended') void this.ctx.resume().then(this.onChange, this.onChange);
    } catch {
      this.ctx = null;
    }
    this.onChange();
  }

  /** Two tones, high then low (about 0.4 s). */
  play(): void {
    const ctx = this.ctx;
    if (!this.enabled || !ctx || ctx.state !== 'running') return;
    const t0 = ctx.currentTime;
    [880, 660].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.2);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.2 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.2 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + i * 0.2);
      osc.stop(t0 + i * 0.2 + 0.2);
    });
  }
}
