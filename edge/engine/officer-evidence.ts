import type { TrackedParcel } from './parcel.js';

/**
 * A remote officer's clear is bound to the evidence it clears: it must name the CT scan or report
 * (image) id, and that id must be the one on the parcel's verdict record. A clear that names
 * nothing, names another scan, or reaches a parcel with no CT record yet (nothing to bind it to)
 * is not applied: a forged or mistaken clear cannot stand in for a verdict the gateway never saw.
 * Stricter verdicts (suspect, unknown) need no evidence: they only ever send a parcel to
 * inspection. A release at the inspector workstation (source 'workstation': an officer signed in
 * on site, with the parcel in the queue) is not a remote clear and is not bound this way.
 */
export type ClearEvidence = 'matched' | 'missing' | 'mismatch' | 'no-record';

export function clearEvidence(
  reportId: string | null,
  p: Pick<TrackedParcel, 'scanId' | 'imageId'>,
): ClearEvidence {
  if (reportId === null || reportId.trim() === '') return 'missing';
  const known = [p.scanId, p.imageId].filter((x): x is string => x !== null);
  if (known.length === 0) return 'no-record';
  return known.includes(reportId.trim()) ? 'matched' : 'mismatch';
}

export function evidenceReason(
  e: ClearEvidence,
  reportId: string | null,
  p: TrackedParcel,
): string {
  switch (e) {
    case 'missing':
      return 'an officer clear must name the CT scan or report id it clears';
    case 'no-record':
      return `no CT scan is on record for this parcel yet: the clear of '${reportId}' cannot be bound to it (the parcel goes to inspection unless the machine clears it)`;
    case 'mismatch':
      return `the clear names '${reportId}', the parcel's CT record is scan '${p.scanId ?? '-'}' / report '${p.imageId ?? '-'}'`;
    case 'matched':
      return 'clear matches the CT record';
  }
}
