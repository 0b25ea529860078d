import {
  DataType,
  StatusCodes,
  Variant,
  type Namespace,
  type UAObject,
  type UAObjectType,
  type UAVariable,
} from 'node-opcua';

/**
 * The simulator's vendor-shaped devices (added to the address space of sim-address-space.ts):
 *
 * - CT review results: `CtReviewResultEventType` events on CT1 carrying the parcel's Waybill,
 *   the CT's ItemId, Verdict, ImageId, Operator and Confidence, and no scan time: what a CT
 *   reports after image review (machine + officer), seconds after the parcel left the tunnel.
 * - Sorter1, a sorter PLC with integer destinations: it gives each parcel its own tracking id
 *   at induction (`Sorter1.Induction.TrackingId`, Int32), takes destinations keyed by that id or
 *   by the waybill through `AssignDestination(Key String, Destination Int32) -> Result Int32`
 *   (0 accepted, 1 unknown key, 2 unknown destination, 3 too late) or through registers
 *   (`Request.Key`, `Request.Destination`, `Request.Strobe`; it copies the strobe into
 *   `Request.Ack` when it has taken the request), and sends a parcel without a destination to
 *   its default destination (`DefaultDestination`, which may be pass). It counts parcels that
 *   ended in a destination they were not assigned.
 */

export interface SortedParcel {
  trackingId: number;
  waybill: string;
  /** what the simulated line knows about the parcel (clear, suspect, unread, late...) */
  kind: string;
  assigned: number | null;
  /** assignments that came after the decision point (not applied) */
  lateAssignments: number;
  destination: number;
  atMono: number;
}

export interface SorterSimOptions {
  defaultDestination: number;
  destinations: ReadonlySet<number>;
  /** the PLC answers the method / sets the ack this long after a request */
  ackDelayMs: number;
  onSorted(p: SortedParcel): void;
  onRequest(r: {
    key: string;
    destination: number;
    via: 'method' | 'registers';
    result: number;
  }): void;
  monoMs(): number;
}

interface Item {
  trackingId: number;
  waybill: string;
  kind: string;
  assigned: number | null;
  lateAssignments: number;
  sorted: boolean;
}

export class SorterSim {
  readonly reviewEventType: UAObjectType;
  private readonly byKey = new Map<string, Item>();
  private nextTrackingId = 1000 + Math.floor(Math.random() * 5000);
  private readonly trackingIdVar: UAVariable;
  private readonly defaultDestination: UAVariable;
  private readonly counters: Record<'sorted' | 'unassigned' | 'misrouted', UAVariable>;
  private acking = true;
  readonly totals = { sorted: 0, unassigned: 0, misrouted: 0, requests: 0, refused: 0 };

  constructor(
    private readonly ns: Namespace,
    ct: UAObject,
    objects: UAObject,
    private readonly o: SorterSimOptions,
  ) {
    const nsi = ns.index;
    this.reviewEventType = ns.addEventType({
      browseName: 'CtReviewResultEventType',
      subtypeOf: 'BaseEventType',
    });
    for (const [name, dataType] of [
      ['Waybill', 'String'],
      ['ItemId', 'String'],
      ['Verdict', 'String'],
      ['ImageId', 'String'],
      ['Operator', 'String'],
      ['Confidence', 'Double'],
    ] as const) {
      ns.addVariable({
        propertyOf: this.reviewEventType,
        browseName: name,
        dataType,
        modellingRule: 'Mandatory',
      });
    }
    this.ct = ct;

    const sorter = ns.addObject({
      browseName: 'Sorter1',
      nodeId: `ns=${nsi};s=Sorter1`,
      organizedBy: objects,
    });
    const v = (
      parent: UAObject,
      id: string,
      name: string,
      type: DataType,
      value: unknown,
      rw = false,
    ) => {
      const variable = ns.addVariable({
        componentOf: parent,
        nodeId: `ns=${nsi};s=${id}`,
        browseName: name,
        dataType: DataType[type],
        minimumSamplingInterval: 0,
        accessLevel: rw ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
        userAccessLevel: rw ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      });
      variable.setValueFromSource(new Variant({ dataType: type, value }));
      return variable;
    };
    const induction = ns.addObject({
      browseName: 'Induction',
      nodeId: `ns=${nsi};s=Sorter1.Induction`,
      componentOf: sorter,
    });
    this.trackingIdVar = v(
      induction,
      'Sorter1.Induction.TrackingId',
      'TrackingId',
      DataType.Int32,
      0,
    );
    this.defaultDestination = v(
      sorter,
      'Sorter1.DefaultDestination',
      'DefaultDestination',
      DataType.Int32,
      o.defaultDestination,
      true,
    );
    const stats = ns.addObject({
      browseName: 'Stats',
      nodeId: `ns=${nsi};s=Sorter1.Stats`,
      componentOf: sorter,
    });
    this.counters = {
      sorted: v(stats, 'Sorter1.Stats.Sorted', 'Sorted', DataType.UInt32, 0),
      unassigned: v(stats, 'Sorter1.Stats.Unassigned', 'Unassigned', DataType.UInt32, 0),
      misrouted: v(stats, 'Sorter1.Stats.Misrouted', 'Misrouted', DataType.UInt32, 0),
    };

    const method = ns.addMethod(sorter, {
      browseName: 'AssignDestination',
      nodeId: `ns=${nsi};s=Sorter1.AssignDestination`,
      inputArguments: [
        { name: 'Key', dataType: DataType.String },
        { name: 'Destination', dataType: DataType.Int32 },
      ],
      outputArguments: [{ name: 'Result', dataType: DataType.Int32 }],
    });
    method.bindMethod((args, _context, callback) => {
      const key = String(args[0]?.value);
      const destination = Number(args[1]?.value);
      const answer = () => {
        const result = this.assign(key, destination, 'method');
        callback(null, {
          statusCode: StatusCodes.Good,
          outputArguments: [{ dataType: DataType.Int32, value: result }],
        });
      };
      // a PLC that stopped answering: the call never returns (the client times out)
      if (!this.acking) return;
      if (o.ackDelayMs > 0) setTimeout(answer, o.ackDelayMs);
      else answer();
    });

    const request = ns.addObject({
      browseName: 'Request',
      nodeId: `ns=${nsi};s=Sorter1.Request`,
      componentOf: sorter,
    });
    const reqKey = v(request, 'Sorter1.Request.Key', 'Key', DataType.String, '', true);
    const reqDest = v(
      request,
      'Sorter1.Request.Destination',
      'Destination',
      DataType.Int32,
      0,
      true,
    );
    const strobe = v(request, 'Sorter1.Request.Strobe', 'Strobe', DataType.Boolean, false, true);
    const ack = v(request, 'Sorter1.Request.Ack', 'Ack', DataType.Boolean, false);
    strobe.on('value_changed', (dv) => {
      if (!this.acking) return;
      const take = () => {
        this.assign(
          String(reqKey.readValue().value.value),
          Number(reqDest.readValue().value.value),
          'registers',
        );
        ack.setValueFromSource(
          new Variant({ dataType: DataType.Boolean, value: Boolean(dv.value.value) }),
        );
      };
      if (o.ackDelayMs > 0) setTimeout(take, o.ackDelayMs);
      else take();
    });
  }

  private readonly ct: UAObject;

  /** A review result, after the CT's review delay: by waybill and the CT's item id, no scan time. */
  raiseReview(r: {
    waybill: string;
    itemId: string;
    verdict: string;
    imageId: string;
    operator: string;
  }): void {
    this.ct.raiseEvent(this.reviewEventType, {
      sourceName: { dataType: DataType.String, value: 'CT1' },
      message: {
        dataType: DataType.LocalizedText,
        value: { text: `review ${r.waybill}: ${r.verdict}` },
      },
      waybill: { dataType: DataType.String, value: r.waybill },
      itemId: { dataType: DataType.String, value: r.itemId },
      verdict: { dataType: DataType.String, value: r.verdict },
      imageId: { dataType: DataType.String, value: r.imageId },
      operator: { dataType: DataType.String, value: r.operator },
      confidence: { dataType: DataType.Double, value: r.verdict === 'ALARM' ? 0.9 : 0.98 },
    });
  }

  /** A parcel reaches the induction photo-eye: the PLC gives it its tracking id. */
  induct(waybill: string, kind: string, at = new Date()): number {
    const trackingId = this.nextTrackingId++;
    if (this.nextTrackingId > 2_000_000_000) this.nextTrackingId = 1000;
    const item: Item = {
      trackingId,
      waybill,
      kind,
      assigned: null,
      lateAssignments: 0,
      sorted: false,
    };
    this.byKey.set(String(trackingId), item);
    if (waybill) this.byKey.set(waybill.toUpperCase(), item);
    this.trackingIdVar.setValueFromSource(
      new Variant({ dataType: DataType.Int32, value: trackingId }),
      StatusCodes.Good,
      at,
    );
    return trackingId;
  }

  /** The parcel reaches the decision point: its assigned destination, else the default. */
  sort(trackingId: number): SortedParcel | null {
    const item = this.byKey.get(String(trackingId));
    if (!item || item.sorted) return null;
    item.sorted = true;
    const fallback = Number(this.defaultDestination.readValue().value.value);
    const destination = item.assigned ?? fallback;
    this.totals.sorted++;
    if (item.assigned === null) this.totals.unassigned++;
    if (item.assigned === null || item.assigned !== destination) this.totals.misrouted++;
    this.count();
    const sorted: SortedParcel = {
      trackingId,
      waybill: item.waybill,
      kind: item.kind,
      assigned: item.assigned,
      lateAssignments: item.lateAssignments,
      destination,
      atMono: this.o.monoMs(),
    };
    // keep the item a while for late requests, then forget it
    setTimeout(() => {
      this.byKey.delete(String(trackingId));
      if (this.byKey.get(item.waybill.toUpperCase()) === item)
        this.byKey.delete(item.waybill.toUpperCase());
    }, 60_000).unref();
    this.o.onSorted(sorted);
    return sorted;
  }

  setAcking(acking: boolean): void {
    this.acking = acking;
  }

  private assign(key: string, destination: number, via: 'method' | 'registers'): number {
    this.totals.requests++;
    const item = this.byKey.get(key.trim().toUpperCase());
    const result = !item ? 1 : !this.o.destinations.has(destination) ? 2 : item.sorted ? 3 : 0;
    if (result === 0 && item) item.assigned = destination;
    if (result === 3 && item) item.lateAssignments++;
    if (result !== 0) this.totals.refused++;
    this.o.onRequest({ key, destination, via, result });
    return result;
  }

  private count(): void {
    for (const k of ['sorted', 'unassigned', 'misrouted'] as const)
      this.counters[k].setValueFromSource(
        new Variant({ dataType: DataType.UInt32, value: this.totals[k] }),
      );
  }
}
