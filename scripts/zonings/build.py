#!/usr/bin/env python3
"""Builds catalog/seed/zonings.json, the zonings the seed catalogue names.

Each zoning is a named, dated and sourced list of communes (INSEE codes). A zoning whose list
could not be sourced is written with `communes: []`: Guichet then says « liste des communes non
chargée » instead of guessing. A LEADER GAL's territory is built from the member communes of
the EPCIs that make it up, as listed in catalog/data/territories.tsv; SOURCES.md says which
EPCIs and why.

Run from the repository root: python3 scripts/zonings/build.py
It fails (exit 1) on an EPCI or commune code that territories.tsv does not hold.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TERRITORIES = ROOT / "catalog" / "data" / "territories.tsv"
OUT = ROOT / "catalog" / "seed" / "zonings.json"

# The vintage of the EPCI compositions read from territories.tsv (decoupage-administratif
# 6.0.0, 2026 millésime, see catalog/data/TERRITORIES-LICENCE.md).
TERRITORIES_AS_OF = "2026-01-01"

ZONINGS = [
    {
        "slug": "leader-gal-pays-de-chaumont",
        "name": "GAL LEADER 2023-2027 du Pays de Chaumont (Haute-Marne)",
        "source": "https://pays-chaumont.com/?p=151",
        "asOf": TERRITORIES_AS_OF,
        # The Pays de Chaumont's former seven communautés de communes now make up these
        # three EPCIs (see SOURCES.md): CA de Chaumont, CC des Trois Forêts, CC Meuse Rognon.
        "epcis": ["200068658", "245200597", "200069664"],
    },
    {
        "slug": "leader-gal-2023-2027",
        "name": "Territoires des groupes d'action locale (GAL) LEADER 2023-2027",
        "source": "https://leaderfrance.fr/en/interactive-map-of-french-lags-2023-2027",
        "asOf": "2025-09-16",
        "communes": [],
    },
    {
        "slug": "petites-villes-de-demain",
        "name": "Petites villes de demain (communes du programme)",
        "source": "https://www.data.gouv.fr/fr/datasets/programme-petites-villes-de-demain/",
        "asOf": "2026-04-27",
        "communes": [],
    },
    {
        "slug": "villages-d-avenir",
        "name": "Villages d'avenir (communes lauréates)",
        "source": "https://www.data.gouv.fr/datasets/dispositif-villages-davenir",
        "asOf": "2026-06-02",
        "communes": [],
    },
    {
        "slug": "france-ruralites-revitalisation",
        "name": "France Ruralités Revitalisation (FRR, depuis le 1er juillet 2024)",
        "source": "https://banquedesterritoires.fr/france-ruralites-revitalisation-la-premiere-partie-du-zonage-est-parue",
        "asOf": "2025-04-14",
        "communes": [],
    },
    {
        "slug": "grille-densite-communes-rurales",
        "name": "Communes rurales de la grille communale de densité de l'INSEE (niveaux 5 à 7)",
        "source": "https://www.insee.fr/fr/information/6439600",
        "asOf": "2024-01-01",
        "communes": [],
    },
    {
        "slug": "action-coeur-de-ville",
        "name": "Action cœur de ville (communes du programme)",
        "source": "https://www.data.gouv.fr/datasets/programme-action-coeur-de-ville",
        "asOf": "2025-07-04",
        "communes": [],
    },
    {
        "slug": "quartiers-prioritaires-politique-de-la-ville",
        "name": "Communes comprenant un quartier prioritaire de la politique de la ville (QPV 2024)",
        "source": "https://www.insee.fr/fr/statistiques/fichier/8186239/TAG_QPV2024_2025_csv.zip",
        "asOf": "2025-01-01",
        "communes": [],
    },
    {
        "slug": "fondation-rte-zone-intervention",
        "name": "Zone d'intervention de la Fondation RTE (communes rurales, typologie des campagnes, tranches 1 à 3)",
        "source": "https://fondation-rte.org/criteres-deligibilite",
        "asOf": "2026-12-07",
        "communes": [],
    },
    {
        "slug": "fonds-vert-mobilite-zones-rurales",
        "name": "Territoires ruraux éligibles à la mesure « Mobilités durables en zones rurales » du Fonds vert",
        "source": "https://gart.org/actualite/",
        "asOf": "2024-01-01",
        "communes": [],
    },
]


def read_territories():
    communes, epcis = {}, set()
    for line in TERRITORIES.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] == "C":
            communes[cols[1]] = cols[5].split(",") if len(cols) > 5 and cols[5] else []
        elif cols[0] == "E":
            epcis.add(cols[1])
    return communes, epcis


def main():
    communes, epcis = read_territories()
    out, errors = [], []
    for z in ZONINGS:
        codes = set(z.get("communes", []))
        for epci in z.get("epcis", []):
            if epci not in epcis:
                errors.append(f"{z['slug']}: EPCI inconnu {epci}")
            codes |= {c for c, parents in communes.items() if f"E{epci}" in parents}
        unknown = sorted(c for c in codes if c not in communes)
        errors += [f"{z['slug']}: commune inconnue {c}" for c in unknown]
        out.append({k: z[k] for k in ("slug", "name", "source", "asOf")} | {"communes": sorted(codes)})
        print(f"{z['slug']}: {len(codes)} communes")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
