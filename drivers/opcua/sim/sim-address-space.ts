import {
  DataType,
  StatusCodes,
  Variant,
  type Namespace,
  type OPCUAServer,
  type UAObject,
  type UAObjectType,
  type UAVariable,
} from 'node-opcua';
import { AUTOID_NS, MACHINE_VISION_NS, SIM_NS } from '../signal-mapping.js';

/**
 * The simulator's address space, namespace `urn:customs-edge:ct-plc-sim` with string nodeIds:
 *   CT1 (CT scanner, event notifier): CtScanCompleteEventType events; TrackingId, Waybill,
 *     Verdict, ImageId, Confidence, Operator, ScanCount, LifeBit
 *   PLC1 (sorter PLC): BeltSpeed (m/s), PE.Infeed, LifeBit, GatewayLifeBit (writable),
 *     Decision.TrackingId / Decision.Lane / Decision.Strobe (writable), Decision.HandOff(method)
 *   BCR1 (AutoID barcode reader, event notifier): OpticalScanEventType; LastScanData
 *   MV1 (Machine Vision system, event notifier): ResultReadyEventType (PartId, ResultId,
 *     ResultState as OPC 40100-1 structures / Int32, CreationTime)
 */

export interface SimNodes {
  namespace: Namespace;
  objects: UAObject;
  ct: UAObject;
  ctLifeBit: UAVariable;
  plcLifeBit: UAVariable;
  photoEye: UAVariable;
  beltSpeed: UAVariable;
  /** `at`: the source timestamp (default now), e.g. when a photo-eye really changed */
  setValue(v: UAVariable, dataType: DataType, value: unknown, at?: Date): void;
  raiseVerdict(v: {
    trackingId: string;
    waybill: string;
    verdict: string;
    imageId: string;
    confidence: number;
    operator: string;
    scannedAt: Date;
  }): void;
  /** `at`: when the reader read the code (the ScanResult timestamp; default now) */
  raiseScan(code: string | null, at?: Date): void;
  raiseResultReady(r: { partId: string; resultId: string; resultState: number }): void;
}

export function buildAddressSpace(
  server: OPCUAServer,
  hooks: { onDecision(trackingId: string, lane: string, via: 'method' | 'strobe'): void },
): SimNodes {
  const as = server.engine.addressSpace;
  if (!as) throw new Error('address space not ready');
  const ns = as.registerNamespace(SIM_NS);
  const nsi = ns.index;
  const objects = as.rootFolder.objects;

  const eventType: UAObjectType = ns.addEventType({
    browseName: 'CtScanCompleteEventType',
    subtypeOf: 'BaseEventType',
  });
  const fields: [string, string][] = [
    ['TrackingId', 'String'],
    ['Waybill', 'String'],
    ['Verdict', 'String'],
    ['ImageId', 'String'],
    ['Confidence', 'Double'],
    ['Operator', 'String'],
    ['ScannedAt', 'DateTime'],
  ];
  for (const [name, dataType] of fields) {
    ns.addVariable({
      propertyOf: eventType,
      browseName: name,
      dataType,
      modellingRule: 'Mandatory',
    });
  }

  const variable = (
    parent: UAObject,
    id: string,
    browseName: string,
    dataType: string,
    value: unknown,
    writable = false,
  ): UAVariable => {
    const v = ns.addVariable({
      componentOf: parent,
      nodeId: `ns=${nsi};s=${id}`,
      browseName,
      dataType,
      minimumSamplingInterval: 0,
      accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
    });
    v.setValueFromSource(
      new Variant({ dataType: DataType[dataType as keyof typeof DataType], value }),
    );
    return v;
  };
  const setValue = (v: UAVariable, dataType: DataType, value: unknown, at?: Date) =>
    v.setValueFromSource(new Variant({ dataType, value }), StatusCodes.Good, at ?? new Date());

  // CT scanner
  const ct = ns.addObject({
    browseName: 'CTScanner',
    nodeId: `ns=${nsi};s=CT1`,
    organizedBy: objects,
    eventNotifier: 1,
  });
  const ctVars = {
    trackingId: variable(ct, 'CT1.TrackingId', 'TrackingId', 'String', ''),
    waybill: variable(ct, 'CT1.Waybill', 'Waybill', 'String', ''),
    verdict: variable(ct, 'CT1.Verdict', 'Verdict', 'String', ''),
    imageId: variable(ct, 'CT1.ImageId', 'ImageId', 'String', ''),
    confidence: variable(ct, 'CT1.Confidence', 'Confidence', 'Double', 0),
    operator: variable(ct, 'CT1.Operator', 'Operator', 'String', ''),
    scanCount: variable(ct, 'CT1.ScanCount', 'ScanCount', 'UInt32', 0),
  };
  const ctLifeBit = variable(ct, 'CT1.LifeBit', 'LifeBit', 'Boolean', false);
  let scans = 0;

  // sorter PLC
  const plc = ns.addObject({
    browseName: 'SorterPLC',
    nodeId: `ns=${nsi};s=PLC1`,
    organizedBy: objects,
  });
  const beltSpeed = variable(plc, 'PLC1.BeltSpeed', 'BeltSpeed', 'Double', 1.0);
  const photoEye = variable(plc, 'PLC1.PE.Infeed', 'PhotoEyeInfeed', 'Boolean', false);
  const plcLifeBit = variable(plc, 'PLC1.LifeBit', 'LifeBit', 'Boolean', false);
  variable(plc, 'PLC1.GatewayLifeBit', 'GatewayLifeBit', 'Boolean', false, true);
  const decision = ns.addObject({
    browseName: 'Decision',
    nodeId: `ns=${nsi};s=PLC1.Decision`,
    componentOf: plc,
  });
  const decTracking = variable(
    decision,
    'PLC1.Decision.TrackingId',
    'TrackingId',
    'String',
    '',
    true,
  );
  const decLane = variable(decision, 'PLC1.Decision.Lane', 'Lane', 'String', '', true);
  const strobe = variable(decision, 'PLC1.Decision.Strobe', 'Strobe', 'Boolean', false, true);
  const decCount = variable(decision, 'PLC1.Decision.Count', 'Count', 'UInt32', 0);
  let decisions = 0;
  const recordDecision = (trackingId: string, lane: string, via: 'method' | 'strobe') => {
    decisions++;
    setValue(decCount, DataType.UInt32, decisions);
    hooks.onDecision(trackingId, lane, via);
  };
  strobe.on('value_changed', () => {
    recordDecision(
      String(decTracking.readValue().value.value),
      String(decLane.readValue().value.value),
      'strobe',
    );
  });
  const handOff = ns.addMethod(decision, {
    browseName: 'HandOff',
    nodeId: `ns=${nsi};s=PLC1.Decision.HandOff`,
    inputArguments: [
      { name: 'TrackingId', dataType: DataType.String },
      { name: 'Lane', dataType: DataType.String },
    ],
    outputArguments: [{ name: 'Accepted', dataType: DataType.Boolean }],
  });
  handOff.bindMethod((inputArguments, _context, callback) => {
    const trackingId = String(inputArguments[0]?.value);
    const lane = String(inputArguments[1]?.value);
    const accepted = ['inspection', 'exception', 'pass'].includes(lane);
    if (accepted) recordDecision(trackingId, lane, 'method');
    callback(null, {
      statusCode: StatusCodes.Good,
      outputArguments: [{ dataType: DataType.Boolean, value: accepted }],
    });
  });

  // AutoID barcode reader
  const nsAuto = as.getNamespaceIndex(AUTOID_NS);
  const scanType = as.findEventType('OpticalScanEventType', nsAuto);
  const resultType = as.findDataType('OpticalScanResult', nsAuto);
  const reader = ns.addObject({
    browseName: 'BarcodeReader',
    nodeId: `ns=${nsi};s=BCR1`,
    organizedBy: objects,
    eventNotifier: 1,
  });
  const lastScan = variable(reader, 'BCR1.LastScanData', 'LastScanData', 'String', '');

  // Machine Vision system (OPC 40100-1)
  const nsMv = as.getNamespaceIndex(MACHINE_VISION_NS);
  const resultReadyType = as.findEventType('ResultReadyEventType', nsMv);
  const partIdType = as.findDataType('PartIdDataType', nsMv);
  const resultIdType = as.findDataType('ResultIdDataType', nsMv);
  const vision = ns.addObject({
    browseName: 'VisionSystem',
    nodeId: `ns=${nsi};s=MV1`,
    organizedBy: objects,
    eventNotifier: 1,
  });

  return {
    namespace: ns,
    objects,
    ct,
    ctLifeBit,
    plcLifeBit,
    photoEye,
    beltSpeed,
    setValue,
    raiseVerdict(v) {
      scans++;
      setValue(ctVars.trackingId, DataType.String, v.trackingId);
      setValue(ctVars.waybill, DataType.String, v.waybill);
      setValue(ctVars.verdict, DataType.String, v.verdict);
      setValue(ctVars.imageId, DataType.String, v.imageId);
      setValue(ctVars.confidence, DataType.Double, v.confidence);
      setValue(ctVars.operator, DataType.String, v.operator);
      setValue(ctVars.scanCount, DataType.UInt32, scans);
      ct.raiseEvent(eventType, {
        sourceName: { dataType: DataType.String, value: 'CT1' },
        message: {
          dataType: DataType.LocalizedText,
          value: { text: `scan ${v.trackingId}: ${v.verdict}` },
        },
        trackingId: { dataType: DataType.String, value: v.trackingId },
        waybill: { dataType: DataType.String, value: v.waybill },
        verdict: { dataType: DataType.String, value: v.verdict },
        imageId: { dataType: DataType.String, value: v.imageId },
        confidence: { dataType: DataType.Double, value: v.confidence },
        operator: { dataType: DataType.String, value: v.operator },
        scannedAt: { dataType: DataType.DateTime, value: v.scannedAt },
      });
    },
    raiseResultReady(r) {
      if (!resultReadyType || !partIdType || !resultIdType) {
        throw new Error('the Machine Vision nodeset is not loaded');
      }
      vision.raiseEvent(resultReadyType, {
        sourceName: { dataType: DataType.String, value: 'MV1' },
        partId: {
          dataType: DataType.ExtensionObject,
          value: as.constructExtensionObject(partIdType.nodeId, { id: r.partId }),
        },
        resultId: {
          dataType: DataType.ExtensionObject,
          value: as.constructExtensionObject(resultIdType.nodeId, { id: r.resultId }),
        },
        resultState: { dataType: DataType.Int32, value: r.resultState },
        creationTime: { dataType: DataType.DateTime, value: new Date() },
        isPartial: { dataType: DataType.Boolean, value: false },
      });
    },
    raiseScan(code, at) {
      setValue(lastScan, DataType.String, code ?? '');
      if (!scanType || !resultType) return;
      const result = as.constructExtensionObject(resultType.nodeId, {
        codeType: 'Code128',
        scanData: code === null ? {} : { string: code },
        timestamp: at ?? new Date(),
      });
      reader.raiseEvent(scanType, {
        sourceName: { dataType: DataType.String, value: 'BCR1' },
        scanResult: { dataType: DataType.ExtensionObject, value: result },
      });
    },
  };
}
