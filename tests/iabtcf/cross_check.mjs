// Encodes and decodes TC strings with @iabtcf/core, the IAB's reference implementation, for
// tests/test_tc_string_iabtcf.py.
//
// stdin:  {"encode": [model, ...], "decode": [string, ...]}
// stdout: {"encoded": [{"string", "fields"} | {"error"}], "decoded": [fields | {"error"}]}
//
// A model names the vendors of a made-up Global Vendor List, which the reference encoder
// needs: it drops signals a vendor did not declare, and sets DisclosedVendors to the list.
import { readFileSync } from 'node:fs';
import { GVL, PurposeRestriction, TCModel, TCString } from '@iabtcf/core';

const numbered = (count) => Object.fromEntries(
  Array.from({ length: count }, (_, i) => [String(i + 1), {
    id: i + 1, name: `Item ${i + 1}`, description: '', illustrations: [],
  }]),
);

function vendorList(model) {
  const vendors = {};
  for (const v of model.gvlVendors) {
    vendors[String(v.id)] = {
      id: v.id,
      name: `Vendor ${v.id}`,
      purposes: v.purposes,
      legIntPurposes: v.legIntPurposes,
      flexiblePurposes: v.flexiblePurposes,
      specialPurposes: v.specialPurposes,
      features: [],
      specialFeatures: [],
      policyUrl: 'https://vendor.example/privacy',
    };
  }
  return {
    gvlSpecificationVersion: 3,
    vendorListVersion: model.vendorListVersion,
    tcfPolicyVersion: model.policyVersion,
    lastUpdated: '2024-01-01T00:00:00Z',
    purposes: numbered(11),
    specialPurposes: numbered(2),
    features: numbered(3),
    specialFeatures: numbered(2),
    stacks: {},
    vendors,
  };
}

function encode(model) {
  const list = vendorList(model);
  const gvl = new GVL(list);
  // The encoder takes the consent language from the list's language, and copies of the list
  // load that language's texts: give them from memory, as nothing may be fetched here.
  GVL.LANGUAGE_CACHE.set(model.consentLanguage, {
    purposes: list.purposes,
    specialPurposes: list.specialPurposes,
    features: list.features,
    specialFeatures: list.specialFeatures,
    stacks: list.stacks,
  });
  gvl.lang_ = model.consentLanguage;
  const tc = new TCModel(gvl);
  tc.cmpId = model.cmpId;
  tc.cmpVersion = model.cmpVersion;
  tc.consentScreen = model.consentScreen;
  tc.isServiceSpecific = model.isServiceSpecific;
  tc.useNonStandardStacks = model.useNonStandardTexts;
  tc.purposeOneTreatment = model.purposeOneTreatment;
  tc.publisherCountryCode = model.publisherCC;
  tc.created = new Date(model.created);
  tc.lastUpdated = new Date(model.lastUpdated);
  tc.specialFeatureOptins.set(model.specialFeatureOptins);
  tc.purposeConsents.set(model.purposeConsents);
  tc.purposeLegitimateInterests.set(model.purposeLI);
  tc.vendorConsents.set(model.vendorConsents);
  tc.vendorLegitimateInterests.set(model.vendorLI);
  tc.vendorsAllowed.set(model.vendorsAllowed);
  tc.publisherConsents.set(model.publisherConsents);
  tc.publisherLegitimateInterests.set(model.publisherLI);
  tc.numCustomPurposes = model.numCustomPurposes;
  tc.publisherCustomConsents.set(model.customConsents);
  tc.publisherCustomLegitimateInterests.set(model.customLI);
  for (const [purposeId, type, vendorIds] of model.restrictions) {
    const restriction = new PurposeRestriction(purposeId, type);
    for (const id of vendorIds) tc.publisherRestrictions.add(id, restriction);
  }
  const string = TCString.encode(tc, { segments: model.segments });
  GVL.emptyCache(); // each model has a list of its own
  return string;
}

const ids = (vector) => {
  const found = [];
  vector.forEach((value, id) => { if (value) found.push(id); });
  return found;
};

function fields(s) {
  const m = TCString.decode(s);
  const restrictions = m.publisherRestrictions.getRestrictions()
    .map((r) => [r.purposeId, r.restrictionType, m.publisherRestrictions.getVendors(r)])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    version: m.version,
    created: m.created.getTime(),
    lastUpdated: m.lastUpdated.getTime(),
    cmpId: m.cmpId,
    cmpVersion: m.cmpVersion,
    consentScreen: m.consentScreen,
    consentLanguage: m.consentLanguage,
    vendorListVersion: m.vendorListVersion,
    policyVersion: m.policyVersion,
    isServiceSpecific: m.isServiceSpecific,
    useNonStandardTexts: m.useNonStandardStacks,
    specialFeatureOptins: ids(m.specialFeatureOptins),
    purposeConsents: ids(m.purposeConsents),
    purposeLI: ids(m.purposeLegitimateInterests),
    purposeOneTreatment: m.purposeOneTreatment,
    publisherCC: m.publisherCountryCode,
    vendorConsents: ids(m.vendorConsents),
    vendorLI: ids(m.vendorLegitimateInterests),
    restrictions,
    vendorsDisclosed: ids(m.vendorsDisclosed),
    vendorsAllowed: ids(m.vendorsAllowed),
    publisherConsents: ids(m.publisherConsents),
    publisherLI: ids(m.publisherLegitimateInterests),
    numCustomPurposes: m.numCustomPurposes,
    customConsents: ids(m.publisherCustomConsents),
    customLI: ids(m.publisherCustomLegitimateInterests),
  };
}

const attempt = (work) => {
  try {
    return work();
  } catch (err) {
    return { error: String(err && err.message ? err.message : err) };
  }
};

const input = JSON.parse(readFileSync(0, 'utf8'));
const output = {
  encoded: (input.encode || []).map((model) => attempt(() => {
    const string = encode(model);
    return { string, fields: fields(string) };
  })),
  decoded: (input.decode || []).map((s) => attempt(() => fields(s))),
};
process.stdout.write(JSON.stringify(output));
