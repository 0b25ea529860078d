/**
 * Who has a parcel open: an officer who opens a queue entry claims it for `ttlMs` and the page
 * renews the claim while it stays open; every other officer sees the entry as taken. Working on
 * a parcel someone else holds needs an explicit take-over (recorded in the decision). Claims
 * live in memory: after a restart the pages renew theirs on reconnect.
 */

export interface Claim {
  officer: string;
  sinceMs: number;
  expiresMs: number;
}

export type ClaimResult =
  { ok: true; claim: Claim; tookOverFrom: string | null } | { ok: false; heldBy: Claim };

export class Claims {
  private readonly claims = new Map<string, Claim>();

  constructor(
    private readonly ttlMs: number,
    private readonly nowMs: () => number,
  ) {}

  /** The live claim on a parcel, or null (an expired claim is dropped here). */
  holder(parcelId: string): Claim | null {
    const c = this.claims.get(parcelId);
    if (!c) return null;
    if (c.expiresMs <= this.nowMs()) {
      this.claims.delete(parcelId);
      return null;
    }
    return c;
  }

  /** Claim or renew; refused when another officer holds it unless `takeOver`. */
  claim(parcelId: string, officer: string, takeOver: boolean): ClaimResult {
    const now = this.nowMs();
    const current = this.holder(parcelId);
    if (current && current.officer !== officer && !takeOver) return { ok: false, heldBy: current };
    const claim: Claim = {
      officer,
      sinceMs: current?.officer === officer ? current.sinceMs : now,
      expiresMs: now + this.ttlMs,
    };
    this.claims.set(parcelId, claim);
    return {
      ok: true,
      claim,
      tookOverFrom: current && current.officer !== officer ? current.officer : null,
    };
  }

  /** Release the officer's own claim; true when one was released. */
  release(parcelId: string, officer: string): boolean {
    const current = this.holder(parcelId);
    if (!current || current.officer !== officer) return false;
    this.claims.delete(parcelId);
    return true;
  }

  /** Drop a claim whatever its holder (the parcel was decided). */
  drop(parcelId: string): boolean {
    return this.claims.delete(parcelId);
  }

  /** Drop expired claims; returns the parcels whose claim expired. */
  sweep(): string[] {
    const now = this.nowMs();
    const expired: string[] = [];
    for (const [id, c] of this.claims) {
      if (c.expiresMs <= now) {
        this.claims.delete(id);
        expired.push(id);
      }
    }
    return expired;
  }
}
