#!/usr/bin/env node
// Derive catalog/data/territories.tsv from an unpacked copy of the npm package
// @etalab/decoupage-administratif (Etalab, MIT licence).
//
// Usage:
//   node scripts/territories/derive.mjs [--exclude-com] <dir-of-unpacked-package> > catalog/data/territories.tsv
//
// <dir-of-unpacked-package> is the `package/` directory produced by
// `npm pack @etalab/decoupage-administratif@6.0.0 && tar xzf *.tgz`.
// See scripts/territories/README.md. Node 20, standard library only.
//
// Output: UTF-8, '\n' line ends, tab-separated, no quoting.
//   kind  code  name  population  postcodes  parents
// kind: R région, D département, E EPCI, C commune.
// parents: codes prefixed with their kind letter (R44, D52, E200068658), since région and
// département codes overlap (44 is both Grand Est and Loire-Atlantique).
// Order: R, D, E, C; each sorted by code (plain code-unit order, so 2A/2B
// come after 29 and before 30). Summary counts go to stderr.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const EXPECTED_VERSION = '6.0.0';

function fail(message) {
  process.stderr.write(`derive.mjs: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const excludeCom = args.includes('--exclude-com');
const positional = args.filter((a) => !a.startsWith('--'));
const unknownFlags = args.filter((a) => a.startsWith('--') && a !== '--exclude-com');
if (positional.length !== 1 || unknownFlags.length > 0) {
  fail('usage: node scripts/territories/derive.mjs [--exclude-com] <dir-of-unpacked-package>');
}
const dir = positional[0];

function readJson(rel) {
  const path = join(dir, rel);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`cannot read ${path}: ${err.message}`);
  }
}

const pkg = readJson('package.json');
if (pkg.name !== '@etalab/decoupage-administratif') {
  fail(`unexpected package name ${JSON.stringify(pkg.name)}`);
}
if (pkg.version !== EXPECTED_VERSION) {
  fail(`expected version ${EXPECTED_VERSION}, found ${pkg.version} (update EXPECTED_VERSION and the source comment deliberately)`);
}

const regionsJson = readJson('data/regions.json');
const departementsJson = readJson('data/departements.json');
const epciJson = readJson('data/epci.json');
const communesJson = readJson('data/communes.json');

// Plain code-unit comparison (same as Rust's str Ord), not locale-aware.
const byCode = (a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
const sortStrings = (xs) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function checkName(kind, code, name) {
  if (typeof name !== 'string' || name.length === 0) fail(`${kind} ${code}: missing name`);
  if (/[\u0000-\u001f\u007f]/.test(name)) fail(`${kind} ${code}: name contains a control character (tab/newline): ${JSON.stringify(name)}`);
  return name;
}

function checkInt(kind, code, n) {
  if (!Number.isSafeInteger(n) || n < 0) fail(`${kind} ${code}: bad population ${JSON.stringify(n)}`);
  return n;
}

// ---- Départements and régions (zone: metro | drom | com) ----
const keepZone = (z) => !(excludeCom && z === 'com');

const departements = departementsJson.filter((d) => keepZone(d.zone)).sort(byCode);
const regions = regionsJson.filter((r) => keepZone(r.zone)).sort(byCode);
const departementByCode = new Map(departements.map((d) => [d.code, d]));
const regionByCode = new Map(regions.map((r) => [r.code, r]));
for (const d of departements) {
  if (!regionByCode.has(d.region)) fail(`département ${d.code}: unknown région ${d.region}`);
}
// Collectivités d'outre-mer are kept only when the package lists them as
// départements (in 6.0.0 it does, with a région of the same code).
for (const r of regions) {
  if (r.zone === 'com' && !departementByCode.has(r.code)) {
    fail(`région ${r.code} (com) has no matching département entry; decide how to handle it`);
  }
}

// ---- Communes: only current ones ----
const communes = communesJson
  .filter((c) => c.type === 'commune-actuelle')
  .filter((c) => departementByCode.has(c.departement))
  .sort(byCode);
const communeByCode = new Map(communes.map((c) => [c.code, c]));
for (const c of communes) {
  if (!regionByCode.has(c.region)) fail(`commune ${c.code}: unknown région ${c.region}`);
  if (departementByCode.get(c.departement).region !== c.region) {
    fail(`commune ${c.code}: région ${c.region} differs from its département's`);
  }
}
const droppedCurrent = communesJson.filter((c) => c.type === 'commune-actuelle').length - communes.length;
if (droppedCurrent > 0 && !excludeCom) fail(`${droppedCurrent} current communes have a département missing from departements.json`);

// Communes without a population in the package (TAAF districts, Clipperton)
// are written with population 0 and reported on stderr.
const communesWithoutPopulation = communes.filter((c) => c.population === undefined || c.population === null);
const communePopulation = (c) => c.population ?? 0;

// ---- EPCI (à fiscalité propre, incl. métropoles and Métropole de Lyon) ----
const epcis = [...epciJson].sort(byCode);
const epciOfCommune = new Map();
for (const e of epcis) {
  if (!/^\d{9}$/.test(e.code)) fail(`EPCI ${e.code}: SIREN is not 9 digits`);
  for (const m of e.membres) {
    if (!communeByCode.has(m.code)) {
      if (excludeCom) continue;
      fail(`EPCI ${e.code}: member ${m.code} is not a current commune`);
    }
    if (epciOfCommune.has(m.code)) fail(`commune ${m.code} belongs to EPCI ${epciOfCommune.get(m.code)} and ${e.code}`);
    epciOfCommune.set(m.code, e.code);
  }
}

// ---- Aggregate populations ----
const populationByDepartement = new Map();
const populationByRegion = new Map();
for (const c of communes) {
  const p = communePopulation(c);
  populationByDepartement.set(c.departement, (populationByDepartement.get(c.departement) ?? 0) + p);
  populationByRegion.set(c.region, (populationByRegion.get(c.region) ?? 0) + p);
}

// ---- Emit ----
const lines = [
  '# source: @etalab/decoupage-administratif 6.0.0 (Etalab, MIT licence) — https://github.com/etalab/decoupage-administratif',
  '# generated by scripts/territories/derive.mjs',
  '# columns: kind code name population postcodes parents (parents prefixed by kind letter)',
];
const row = (kind, code, name, population, postcodes, parents) => {
  lines.push([kind, code, checkName(kind, code, name), String(checkInt(kind, code, population)), postcodes, parents].join('\t'));
};

for (const r of regions) {
  // regions.json has no population field: sum of its communes.
  row('R', r.code, r.nom, populationByRegion.get(r.code) ?? 0, '', '');
}
for (const d of departements) {
  // departements.json has no population field: sum of its communes.
  row('D', d.code, d.nom, populationByDepartement.get(d.code) ?? 0, '', `R${d.region}`);
}
for (const e of epcis) {
  const members = e.membres.map((m) => communeByCode.get(m.code)).filter(Boolean);
  const deps = sortStrings(new Set(members.map((c) => c.departement)));
  const regs = sortStrings(new Set(members.map((c) => c.region)));
  // epci.json has its own population (DGCL figures): use populationMunicipale.
  row('E', e.code, e.nom, e.populationMunicipale, '', [...deps.map((d) => `D${d}`), ...regs.map((r) => `R${r}`)].join(','));
}
for (const c of communes) {
  const postcodes = sortStrings(new Set(c.codesPostaux ?? []));
  for (const p of postcodes) {
    if (!/^\d{5}$/.test(p)) fail(`commune ${c.code}: bad postcode ${JSON.stringify(p)}`);
  }
  const parents = [];
  if (epciOfCommune.has(c.code)) parents.push(`E${epciOfCommune.get(c.code)}`);
  parents.push(`D${c.departement}`, `R${c.region}`);
  row('C', c.code, c.nom, communePopulation(c), postcodes.join(','), parents.join(','));
}

process.stdout.write(lines.join('\n') + '\n');

// ---- Summary on stderr ----
const withoutEpci = communes.filter((c) => !epciOfCommune.has(c.code));
const summary = [
  `R ${regions.length}, D ${departements.length}, E ${epcis.length}, C ${communes.length}`,
  `communes without EPCI: ${withoutEpci.length} (outside COM: ${withoutEpci.filter((c) => c.zone !== 'com').map((c) => c.code).join(' ') || 'none'})`,
  `communes without population in package (written as 0): ${communesWithoutPopulation.map((c) => c.code).join(' ') || 'none'}`,
];
if (excludeCom) summary.push(`--exclude-com: dropped ${droppedCurrent} current communes in collectivités d'outre-mer`);
process.stderr.write(summary.map((s) => `derive.mjs: ${s}\n`).join(''));
