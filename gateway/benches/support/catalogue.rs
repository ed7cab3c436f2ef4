//! A deterministic generator of synthetic catalogues for the search benchmark: schemes in
//! French, about rural projects (commerce, café, épicerie, maison de santé, crèche, tiers-lieu,
//! vélo, borne de recharge, patrimoine, lavoir, église, salle des fêtes, friche, eau potable…),
//! from a pool of about sixty funders of every kind, with DESIGN §4 themes, beneficiary and
//! aid types, perimeters with real territory codes, rates, amounts and calendars around 2026.
//!
//! The same seed always gives the same catalogue (for a given `Cargo.lock`: `StdRng` is
//! pinned there), and schemes are drawn one after the other, so the first 10,000 schemes of
//! the 100,000 catalogue are the 10,000 catalogue.

use std::collections::HashMap;

use catalog::funder::FunderRecord;
use catalog::scheme::{Calendar, Funding, Perimeter, Rules, SchemeRecord};
use catalog::vocab::{
    AidType, BeneficiaryType, FunderKind, Recurrence, SchemeStatus, StateAidRegime, theme_label,
};
use catalog::{Territories, TerritoryKind};
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// The seed of every catalogue (« guichet » in ASCII).
pub const SEED: u64 = 0x0067_7569_6368_6574;

/// Bumped whenever the generator changes, so that stored catalogues are regenerated.
pub const VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A public building.
    Building,
    /// A shop, a business, a farm.
    Business,
    /// Equipment bought and installed.
    Equipment,
    /// Networks and roads.
    Network,
    /// Heritage.
    Heritage,
    /// Land, water, nature.
    Nature,
    /// A service, an activity, a post (not an investment).
    Service,
}

use BeneficiaryType as B;
use Kind::*;

const LOCAL: &[B] = &[B::Commune, B::Epci];
const PUBLIC: &[B] = &[B::Commune, B::Epci, B::Department, B::PublicEstablishment];
const SOCIAL: &[B] = &[B::Commune, B::Epci, B::Association, B::PublicEstablishment];
const ECONOMY: &[B] = &[B::Company, B::EssCompany, B::Commune, B::Association];
const FARMING: &[B] = &[B::Farmer, B::Company, B::Association];
const HOUSING: &[B] = &[B::Commune, B::Individual, B::PublicEstablishment];

/// What a scheme funds.
struct Object {
    /// As a complement: « des écoles communales ».
    de: &'static str,
    /// With its article: « les écoles communales ».
    the: &'static str,
    kind: Kind,
    themes: &'static [&'static str],
    /// Words of the field, for descriptions.
    words: &'static [&'static str],
    beneficiaries: &'static [B],
}

macro_rules! object {
    ($de:literal, $the:literal, $kind:ident, [$($theme:literal),+], [$($word:literal),+], $who:ident) => {
        Object {
            de: $de,
            the: $the,
            kind: $kind,
            themes: &[$($theme),+],
            words: &[$($word),+],
            beneficiaries: $who,
        }
    };
}

const OBJECTS: &[Object] = &[
    // Public buildings.
    object!(
        "des écoles communales",
        "les écoles communales",
        Building,
        ["enfance-jeunesse", "services-publics"],
        [
            "groupe scolaire",
            "classes",
            "cour d'école",
            "restauration scolaire",
            "accueil périscolaire",
            "regroupement pédagogique intercommunal"
        ],
        LOCAL
    ),
    object!(
        "de la salle des fêtes",
        "la salle des fêtes",
        Building,
        ["lien-social", "culture"],
        [
            "salle polyvalente",
            "foyer rural",
            "associations locales",
            "manifestations",
            "vie associative",
            "cuisine collective"
        ],
        LOCAL
    ),
    object!(
        "de la mairie",
        "la mairie",
        Building,
        ["services-publics"],
        [
            "bâtiment communal",
            "accueil du public",
            "secrétariat de mairie",
            "salle du conseil",
            "agence postale communale"
        ],
        LOCAL
    ),
    object!(
        "de la maison de santé pluriprofessionnelle",
        "la maison de santé pluriprofessionnelle",
        Building,
        ["sante"],
        [
            "MSP",
            "médecins généralistes",
            "professionnels de santé",
            "infirmiers",
            "kinésithérapeutes",
            "désertification médicale",
            "accès aux soins"
        ],
        SOCIAL
    ),
    object!(
        "du cabinet médical",
        "le cabinet médical",
        Building,
        ["sante"],
        [
            "médecin généraliste",
            "centre de santé",
            "installation des médecins",
            "télémédecine",
            "accès aux soins"
        ],
        LOCAL
    ),
    object!(
        "de la crèche intercommunale",
        "la crèche intercommunale",
        Building,
        ["enfance-jeunesse"],
        [
            "petite enfance",
            "accueil du jeune enfant",
            "EAJE",
            "relais petite enfance",
            "assistantes maternelles",
            "places d'accueil"
        ],
        SOCIAL
    ),
    object!(
        "d'une micro-crèche",
        "une micro-crèche",
        Building,
        ["enfance-jeunesse", "economie-emploi"],
        [
            "micro-crèche",
            "petite enfance",
            "modes de garde",
            "accueil du jeune enfant",
            "parents qui travaillent"
        ],
        ECONOMY
    ),
    object!(
        "du gymnase",
        "le gymnase",
        Building,
        ["sport"],
        [
            "équipement sportif",
            "salle multisport",
            "clubs sportifs",
            "pratique sportive",
            "vestiaires"
        ],
        PUBLIC
    ),
    object!(
        "de la médiathèque",
        "la médiathèque",
        Building,
        ["culture", "numerique"],
        [
            "bibliothèque",
            "lecture publique",
            "ludothèque",
            "espace numérique",
            "fonds documentaire"
        ],
        LOCAL
    ),
    object!(
        "des logements communaux",
        "les logements communaux",
        Building,
        ["habitat", "energie-climat"],
        [
            "logement locatif",
            "presbytère",
            "logement d'urgence",
            "rénovation thermique",
            "loyers modérés"
        ],
        HOUSING
    ),
    object!(
        "de la résidence autonomie",
        "la résidence autonomie",
        Building,
        ["autonomie", "habitat"],
        [
            "personnes âgées",
            "grand âge",
            "habitat inclusif",
            "maintien à domicile",
            "EHPAD"
        ],
        SOCIAL
    ),
    object!(
        "de la cantine scolaire",
        "la cantine scolaire",
        Building,
        ["alimentation", "enfance-jeunesse"],
        [
            "restauration collective",
            "produits locaux",
            "circuits courts",
            "loi EGalim",
            "légumerie",
            "repas bio"
        ],
        LOCAL
    ),
    object!(
        "de l'accueil de loisirs",
        "l'accueil de loisirs",
        Building,
        ["enfance-jeunesse", "lien-social"],
        [
            "centre de loisirs",
            "mercredis",
            "vacances scolaires",
            "animateurs",
            "périscolaire"
        ],
        SOCIAL
    ),
    object!(
        "de la maison France Services",
        "la maison France Services",
        Building,
        ["services-publics", "numerique"],
        [
            "France Services",
            "démarches administratives",
            "accompagnement des usagers",
            "bus France Services",
            "permanences"
        ],
        PUBLIC
    ),
    object!(
        "des bâtiments publics",
        "les bâtiments publics",
        Building,
        ["energie-climat", "services-publics"],
        [
            "patrimoine bâti communal",
            "isolation",
            "chauffage",
            "décret tertiaire",
            "sobriété énergétique",
            "pompe à chaleur"
        ],
        PUBLIC
    ),
    object!(
        "du centre d'incendie et de secours",
        "le centre d'incendie et de secours",
        Building,
        ["services-publics"],
        [
            "sapeurs-pompiers volontaires",
            "caserne",
            "secours",
            "remise des engins"
        ],
        PUBLIC
    ),
    // Shops, businesses, farms.
    object!(
        "du dernier commerce",
        "le dernier commerce",
        Business,
        ["commerce", "revitalisation"],
        [
            "commerce de proximité",
            "multiservice",
            "dernier commerce",
            "centre-bourg",
            "dépôt de pain",
            "point relais"
        ],
        ECONOMY
    ),
    object!(
        "d'une épicerie de village",
        "une épicerie de village",
        Business,
        ["commerce", "alimentation"],
        [
            "épicerie",
            "épicerie solidaire",
            "produits locaux",
            "point de vente collectif",
            "vrac",
            "dépôt de pain"
        ],
        ECONOMY
    ),
    object!(
        "d'un café multiservice",
        "un café multiservice",
        Business,
        ["commerce", "lien-social"],
        [
            "café",
            "bistrot",
            "débit de boissons",
            "licence IV",
            "café associatif",
            "point relais colis",
            "restaurant"
        ],
        ECONOMY
    ),
    object!(
        "de la boulangerie",
        "la boulangerie",
        Business,
        ["commerce", "alimentation"],
        [
            "boulangerie-pâtisserie",
            "fournil",
            "artisan boulanger",
            "tournées",
            "pain"
        ],
        ECONOMY
    ),
    object!(
        "des commerces de proximité",
        "les commerces de proximité",
        Business,
        ["commerce", "revitalisation"],
        [
            "vitrines",
            "locaux vacants",
            "boutique à l'essai",
            "artisans et commerçants",
            "centre-bourg"
        ],
        ECONOMY
    ),
    object!(
        "des entreprises artisanales",
        "les entreprises artisanales",
        Business,
        ["economie-emploi"],
        [
            "artisans",
            "atelier",
            "savoir-faire",
            "transmission d'entreprise",
            "apprentissage",
            "emploi local"
        ],
        ECONOMY
    ),
    object!(
        "d'un tiers-lieu",
        "un tiers-lieu",
        Business,
        ["tiers-lieux", "lien-social", "numerique"],
        [
            "tiers-lieu",
            "espace de coworking",
            "fab lab",
            "atelier partagé",
            "café associatif",
            "télétravail",
            "fabrique de territoire"
        ],
        ECONOMY
    ),
    object!(
        "de l'hébergement touristique",
        "l'hébergement touristique",
        Business,
        ["patrimoine-tourisme"],
        [
            "gîte",
            "chambres d'hôtes",
            "camping",
            "randonnée",
            "tourisme vert",
            "itinérance"
        ],
        ECONOMY
    ),
    object!(
        "des exploitations agricoles",
        "les exploitations agricoles",
        Business,
        ["agriculture"],
        [
            "agriculteurs",
            "élevage",
            "diversification",
            "agriculture biologique",
            "vente directe",
            "installation des jeunes agriculteurs"
        ],
        FARMING
    ),
    object!(
        "d'un atelier de transformation",
        "un atelier de transformation",
        Business,
        ["agriculture", "alimentation"],
        [
            "légumerie",
            "conserverie",
            "abattoir",
            "transformation à la ferme",
            "circuits courts",
            "atelier collectif"
        ],
        FARMING
    ),
    object!(
        "du marché couvert",
        "le marché couvert",
        Business,
        ["commerce", "alimentation"],
        [
            "halle",
            "marché de plein vent",
            "producteurs locaux",
            "place du marché",
            "étals"
        ],
        LOCAL
    ),
    // Equipment.
    object!(
        "de bornes de recharge pour véhicules électriques",
        "les bornes de recharge",
        Equipment,
        ["mobilite", "energie-climat"],
        [
            "borne de recharge",
            "IRVE",
            "électromobilité",
            "véhicules électriques",
            "recharge rapide"
        ],
        PUBLIC
    ),
    object!(
        "de l'éclairage public",
        "l'éclairage public",
        Equipment,
        ["energie-climat", "environnement"],
        [
            "LED",
            "économies d'énergie",
            "pollution lumineuse",
            "extinction nocturne",
            "candélabres"
        ],
        LOCAL
    ),
    object!(
        "de la vidéo-protection",
        "la vidéo-protection",
        Equipment,
        ["services-publics"],
        [
            "vidéoprotection",
            "caméras",
            "sécurité publique",
            "prévention de la délinquance"
        ],
        LOCAL
    ),
    object!(
        "de panneaux photovoltaïques",
        "les panneaux photovoltaïques",
        Equipment,
        ["energie-climat"],
        [
            "photovoltaïque",
            "autoconsommation collective",
            "énergie solaire",
            "toitures",
            "ombrières",
            "communauté énergétique"
        ],
        PUBLIC
    ),
    object!(
        "d'une chaufferie bois",
        "une chaufferie bois",
        Equipment,
        ["energie-climat", "environnement"],
        [
            "bois énergie",
            "réseau de chaleur",
            "chaleur renouvelable",
            "plaquettes forestières",
            "granulés"
        ],
        PUBLIC
    ),
    object!(
        "d'équipements numériques pour les écoles",
        "les équipements numériques des écoles",
        Equipment,
        ["numerique", "enfance-jeunesse"],
        [
            "tableaux numériques",
            "tablettes",
            "socle numérique",
            "ENT",
            "classes mobiles"
        ],
        LOCAL
    ),
    object!(
        "d'aires de jeux",
        "les aires de jeux",
        Equipment,
        ["enfance-jeunesse", "sport"],
        [
            "aire de jeux",
            "city stade",
            "plateau sportif",
            "terrain multisport",
            "skatepark"
        ],
        LOCAL
    ),
    object!(
        "de défibrillateurs",
        "les défibrillateurs",
        Equipment,
        ["sante", "services-publics"],
        ["défibrillateur", "gestes qui sauvent", "secourisme", "DAE"],
        SOCIAL
    ),
    object!(
        "d'un véhicule de transport solidaire",
        "un véhicule de transport solidaire",
        Equipment,
        ["mobilite", "autonomie"],
        [
            "transport solidaire",
            "minibus",
            "chauffeurs bénévoles",
            "personnes isolées",
            "mobilité inclusive"
        ],
        SOCIAL
    ),
    object!(
        "de matériel agricole en commun",
        "le matériel agricole en commun",
        Equipment,
        ["agriculture"],
        [
            "CUMA",
            "matériel partagé",
            "désherbage mécanique",
            "agroéquipements"
        ],
        FARMING
    ),
    // Networks and roads.
    object!(
        "du réseau d'eau potable",
        "le réseau d'eau potable",
        Network,
        ["environnement"],
        [
            "eau potable",
            "captage",
            "canalisations",
            "fuites",
            "rendement du réseau",
            "sécheresse",
            "interconnexion"
        ],
        PUBLIC
    ),
    object!(
        "de l'assainissement collectif",
        "l'assainissement collectif",
        Network,
        ["environnement"],
        [
            "station d'épuration",
            "eaux usées",
            "assainissement non collectif",
            "réseau séparatif",
            "eaux pluviales"
        ],
        PUBLIC
    ),
    object!(
        "de la voirie communale",
        "la voirie communale",
        Network,
        ["mobilite", "services-publics"],
        [
            "voirie",
            "chaussée",
            "trottoirs",
            "sécurité routière",
            "ralentisseurs",
            "ouvrages d'art"
        ],
        LOCAL
    ),
    object!(
        "de la défense extérieure contre l'incendie",
        "la défense extérieure contre l'incendie",
        Network,
        ["services-publics"],
        [
            "DECI",
            "poteaux incendie",
            "réserves incendie",
            "citernes souples",
            "points d'eau"
        ],
        LOCAL
    ),
    object!(
        "du très haut débit",
        "le très haut débit",
        Network,
        ["numerique"],
        [
            "fibre optique",
            "très haut débit",
            "couverture mobile",
            "zones blanches",
            "raccordement"
        ],
        PUBLIC
    ),
    object!(
        "de pistes cyclables",
        "les pistes cyclables",
        Network,
        ["mobilite", "patrimoine-tourisme"],
        [
            "vélo",
            "voie verte",
            "véloroute",
            "mobilités actives",
            "stationnement vélo",
            "schéma cyclable"
        ],
        PUBLIC
    ),
    object!(
        "d'aires de covoiturage",
        "les aires de covoiturage",
        Network,
        ["mobilite"],
        [
            "covoiturage",
            "autopartage",
            "transport à la demande",
            "mobilité partagée",
            "pôle d'échanges"
        ],
        PUBLIC
    ),
    // Heritage.
    object!(
        "de l'église",
        "l'église",
        Heritage,
        ["patrimoine-tourisme", "culture"],
        [
            "église",
            "clocher",
            "vitraux",
            "édifice cultuel",
            "charpente",
            "monument historique"
        ],
        LOCAL
    ),
    object!(
        "du lavoir",
        "le lavoir",
        Heritage,
        ["patrimoine-tourisme"],
        [
            "lavoir",
            "fontaine",
            "petit patrimoine",
            "patrimoine rural non protégé",
            "abreuvoir"
        ],
        LOCAL
    ),
    object!(
        "du patrimoine rural non protégé",
        "le patrimoine rural non protégé",
        Heritage,
        ["patrimoine-tourisme", "culture"],
        [
            "petit patrimoine",
            "calvaire",
            "four à pain",
            "pigeonnier",
            "murets en pierre sèche"
        ],
        SOCIAL
    ),
    object!(
        "des monuments historiques",
        "les monuments historiques",
        Heritage,
        ["patrimoine-tourisme", "culture"],
        [
            "monument historique",
            "classé",
            "inscrit",
            "architecte du patrimoine",
            "château"
        ],
        SOCIAL
    ),
    object!(
        "du moulin",
        "le moulin",
        Heritage,
        ["patrimoine-tourisme", "energie-climat"],
        [
            "moulin",
            "bief",
            "roue à aubes",
            "patrimoine hydraulique",
            "petite hydroélectricité"
        ],
        SOCIAL
    ),
    object!(
        "du cimetière",
        "le cimetière",
        Heritage,
        ["services-publics", "environnement"],
        [
            "cimetière",
            "végétalisation",
            "zéro phyto",
            "columbarium",
            "allées enherbées"
        ],
        LOCAL
    ),
    // Land, water, nature.
    object!(
        "d'une friche industrielle",
        "une friche industrielle",
        Nature,
        ["revitalisation", "environnement"],
        [
            "friche",
            "recyclage foncier",
            "dépollution",
            "zéro artificialisation nette",
            "ZAN",
            "sobriété foncière"
        ],
        PUBLIC
    ),
    object!(
        "des haies bocagères",
        "les haies bocagères",
        Nature,
        ["agriculture", "environnement"],
        [
            "haies",
            "bocage",
            "plantation",
            "biodiversité",
            "agroforesterie",
            "Plantons des haies"
        ],
        FARMING
    ),
    object!(
        "des cours d'école",
        "les cours d'école",
        Nature,
        ["environnement", "enfance-jeunesse"],
        [
            "désimperméabilisation",
            "îlots de fraîcheur",
            "végétalisation",
            "cour oasis",
            "adaptation au changement climatique"
        ],
        LOCAL
    ),
    object!(
        "des zones humides",
        "les zones humides",
        Nature,
        ["environnement"],
        [
            "zones humides",
            "mares",
            "continuités écologiques",
            "trame verte et bleue",
            "restauration des cours d'eau"
        ],
        PUBLIC
    ),
    object!(
        "du centre-bourg",
        "le centre-bourg",
        Nature,
        ["revitalisation"],
        [
            "centre-bourg",
            "espaces publics",
            "place du village",
            "cœur de village",
            "requalification",
            "logements vacants"
        ],
        LOCAL
    ),
    object!(
        "d'un jardin partagé",
        "un jardin partagé",
        Nature,
        ["alimentation", "lien-social"],
        [
            "jardin partagé",
            "potager",
            "compostage",
            "jardins familiaux",
            "verger conservatoire"
        ],
        SOCIAL
    ),
    object!(
        "de la forêt communale",
        "la forêt communale",
        Nature,
        ["environnement", "agriculture"],
        [
            "forêt",
            "sylviculture",
            "desserte forestière",
            "scolytes",
            "reboisement",
            "bois d'œuvre"
        ],
        PUBLIC
    ),
    // Services, activities, posts.
    object!(
        "d'un projet alimentaire territorial",
        "un projet alimentaire territorial",
        Service,
        ["alimentation", "agriculture"],
        [
            "PAT",
            "circuits courts",
            "restauration collective",
            "producteurs locaux",
            "précarité alimentaire"
        ],
        PUBLIC
    ),
    object!(
        "d'actions de prévention de la perte d'autonomie",
        "les actions de prévention de la perte d'autonomie",
        Service,
        ["autonomie", "sante"],
        [
            "seniors",
            "prévention",
            "ateliers collectifs",
            "aidants",
            "isolement",
            "conférence des financeurs"
        ],
        SOCIAL
    ),
    object!(
        "d'un espace de vie sociale",
        "un espace de vie sociale",
        Service,
        ["lien-social"],
        [
            "centre social",
            "animation locale",
            "bénévoles",
            "EVS",
            "projet social"
        ],
        SOCIAL
    ),
    object!(
        "de manifestations culturelles",
        "les manifestations culturelles",
        Service,
        ["culture", "lien-social"],
        [
            "festival",
            "spectacle vivant",
            "résidence d'artistes",
            "éducation artistique et culturelle",
            "fête de village"
        ],
        SOCIAL
    ),
    object!(
        "d'un poste de chef de projet",
        "un poste de chef de projet",
        Service,
        ["ingenierie", "revitalisation"],
        [
            "ingénierie",
            "chef de projet",
            "Petites villes de demain",
            "Villages d'avenir",
            "étude pré-opérationnelle"
        ],
        PUBLIC
    ),
    object!(
        "de l'emploi associatif",
        "l'emploi associatif",
        Service,
        ["economie-emploi", "lien-social"],
        [
            "associations",
            "poste FONJEP",
            "emploi associatif",
            "bénévolat",
            "service civique"
        ],
        SOCIAL
    ),
    object!(
        "de l'inclusion numérique",
        "l'inclusion numérique",
        Service,
        ["numerique", "lien-social"],
        [
            "conseillers numériques",
            "illectronisme",
            "ateliers numériques",
            "démarches en ligne",
            "médiation numérique"
        ],
        SOCIAL
    ),
    object!(
        "de la mobilité des jeunes",
        "la mobilité des jeunes",
        Service,
        ["mobilite", "enfance-jeunesse"],
        [
            "permis de conduire",
            "location de scooters",
            "jeunes en insertion",
            "apprentis",
            "plateforme de mobilité"
        ],
        SOCIAL
    ),
    object!(
        "d'un service de transport à la demande",
        "un service de transport à la demande",
        Service,
        ["mobilite", "services-publics"],
        [
            "transport à la demande",
            "navette",
            "desserte des bourgs",
            "mobilité solidaire",
            "lignes régulières"
        ],
        PUBLIC
    ),
];

/// What is done to the object.
struct Action {
    /// With its article: « la rénovation énergétique ».
    the: &'static str,
    kinds: &'static [Kind],
}

const ACTIONS: &[Action] = &[
    Action {
        the: "la rénovation énergétique",
        kinds: &[Building],
    },
    Action {
        the: "la réhabilitation",
        kinds: &[Building, Heritage, Nature],
    },
    Action {
        the: "la construction",
        kinds: &[Building],
    },
    Action {
        the: "l'extension",
        kinds: &[Building, Business],
    },
    Action {
        the: "la mise en accessibilité",
        kinds: &[Building, Business],
    },
    Action {
        the: "la création",
        kinds: &[Building, Business, Service, Nature],
    },
    Action {
        the: "la reprise",
        kinds: &[Business],
    },
    Action {
        the: "la modernisation",
        kinds: &[Business, Equipment, Network, Building],
    },
    Action {
        the: "le maintien",
        kinds: &[Business, Service],
    },
    Action {
        the: "l'installation",
        kinds: &[Equipment],
    },
    Action {
        the: "l'acquisition",
        kinds: &[Equipment],
    },
    Action {
        the: "le déploiement",
        kinds: &[Equipment, Network, Service],
    },
    Action {
        the: "le renouvellement",
        kinds: &[Network, Equipment],
    },
    Action {
        the: "les travaux",
        kinds: &[Network, Building, Heritage],
    },
    Action {
        the: "la restauration",
        kinds: &[Heritage],
    },
    Action {
        the: "la mise en valeur",
        kinds: &[Heritage, Nature],
    },
    Action {
        the: "la renaturation",
        kinds: &[Nature],
    },
    Action {
        the: "l'aménagement",
        kinds: &[Nature, Network, Building],
    },
    Action {
        the: "l'étude de faisabilité",
        kinds: &[Building, Business, Network, Nature, Equipment],
    },
    Action {
        the: "le financement",
        kinds: &[
            Building, Business, Equipment, Network, Heritage, Nature, Service,
        ],
    },
    Action {
        the: "l'animation",
        kinds: &[Service],
    },
    Action {
        the: "le développement",
        kinds: &[Service, Business],
    },
];

/// A funder of the pool.
struct FunderDef {
    slug: String,
    name: String,
    /// Short name for titles: « Région Grand Est ».
    short: String,
    /// With its article, for sentences: « La Région Grand Est ».
    subject: String,
    kind: FunderKind,
    /// Where it acts; `None` for the whole country.
    territory: Option<(TerritoryKind, String)>,
    /// Themes it funds; empty for any.
    themes: &'static [&'static str],
    /// Lends rather than grants.
    lender: bool,
}

/// (slug, name, short, subject, kind, territory, themes, lender)
type Def = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    FunderKind,
    Option<(TerritoryKind, &'static str)>,
    &'static [&'static str],
    bool,
);

const ANY: &[&str] = &[];
const R: TerritoryKind = TerritoryKind::Region;
const D: TerritoryKind = TerritoryKind::Department;

const FUNDERS: &[Def] = &[
    // The State and its ministries.
    (
        "etat-prefectures",
        "État — préfectures de département",
        "État",
        "L'État",
        FunderKind::State,
        None,
        ANY,
        false,
    ),
    (
        "ministere-transition-ecologique",
        "Ministère de la Transition écologique",
        "Ministère de la Transition écologique",
        "Le ministère de la Transition écologique",
        FunderKind::State,
        None,
        &[
            "energie-climat",
            "environnement",
            "mobilite",
            "revitalisation",
        ],
        false,
    ),
    (
        "ministere-culture",
        "Ministère de la Culture",
        "Ministère de la Culture",
        "Le ministère de la Culture",
        FunderKind::State,
        None,
        &["culture", "patrimoine-tourisme"],
        false,
    ),
    (
        "drac-grand-est",
        "DRAC Grand Est",
        "DRAC Grand Est",
        "La DRAC Grand Est",
        FunderKind::State,
        Some((R, "44")),
        &["culture", "patrimoine-tourisme"],
        false,
    ),
    (
        "drac-occitanie",
        "DRAC Occitanie",
        "DRAC Occitanie",
        "La DRAC Occitanie",
        FunderKind::State,
        Some((R, "76")),
        &["culture", "patrimoine-tourisme"],
        false,
    ),
    (
        "ministere-agriculture",
        "Ministère de l'Agriculture et de la Souveraineté alimentaire",
        "Ministère de l'Agriculture",
        "Le ministère de l'Agriculture",
        FunderKind::State,
        None,
        &["agriculture", "alimentation"],
        false,
    ),
    // Agencies and public operators.
    (
        "anct",
        "Agence nationale de la cohésion des territoires (ANCT)",
        "ANCT",
        "L'ANCT",
        FunderKind::PublicAgency,
        None,
        &[
            "revitalisation",
            "ingenierie",
            "tiers-lieux",
            "services-publics",
            "numerique",
        ],
        false,
    ),
    (
        "ademe",
        "ADEME — Agence de la transition écologique",
        "ADEME",
        "L'ADEME",
        FunderKind::PublicAgency,
        None,
        &[
            "energie-climat",
            "environnement",
            "mobilite",
            "alimentation",
        ],
        false,
    ),
    (
        "banque-des-territoires",
        "Banque des Territoires",
        "Banque des Territoires",
        "La Banque des Territoires",
        FunderKind::PublicAgency,
        None,
        ANY,
        true,
    ),
    (
        "bpifrance",
        "Bpifrance",
        "Bpifrance",
        "Bpifrance",
        FunderKind::PublicAgency,
        None,
        &["economie-emploi", "commerce", "tiers-lieux"],
        true,
    ),
    (
        "anah",
        "Agence nationale de l'habitat (Anah)",
        "Anah",
        "L'Anah",
        FunderKind::PublicAgency,
        None,
        &["habitat", "energie-climat", "autonomie"],
        false,
    ),
    (
        "agence-nationale-du-sport",
        "Agence nationale du Sport",
        "Agence nationale du Sport",
        "L'Agence nationale du Sport",
        FunderKind::PublicAgency,
        None,
        &["sport"],
        false,
    ),
    (
        "cnc",
        "Centre national du cinéma et de l'image animée",
        "CNC",
        "Le CNC",
        FunderKind::PublicAgency,
        None,
        &["culture"],
        false,
    ),
    (
        "agence-eau-rhin-meuse",
        "Agence de l'eau Rhin-Meuse",
        "Agence de l'eau Rhin-Meuse",
        "L'Agence de l'eau Rhin-Meuse",
        FunderKind::PublicAgency,
        Some((R, "44")),
        &["environnement"],
        false,
    ),
    (
        "agence-eau-seine-normandie",
        "Agence de l'eau Seine-Normandie",
        "Agence de l'eau Seine-Normandie",
        "L'Agence de l'eau Seine-Normandie",
        FunderKind::PublicAgency,
        Some((R, "28")),
        &["environnement"],
        false,
    ),
    (
        "agence-eau-loire-bretagne",
        "Agence de l'eau Loire-Bretagne",
        "Agence de l'eau Loire-Bretagne",
        "L'Agence de l'eau Loire-Bretagne",
        FunderKind::PublicAgency,
        Some((R, "53")),
        &["environnement"],
        false,
    ),
    (
        "agence-eau-adour-garonne",
        "Agence de l'eau Adour-Garonne",
        "Agence de l'eau Adour-Garonne",
        "L'Agence de l'eau Adour-Garonne",
        FunderKind::PublicAgency,
        Some((R, "75")),
        &["environnement"],
        false,
    ),
    (
        "agence-eau-rmc",
        "Agence de l'eau Rhône Méditerranée Corse",
        "Agence de l'eau RMC",
        "L'Agence de l'eau Rhône Méditerranée Corse",
        FunderKind::PublicAgency,
        Some((R, "84")),
        &["environnement"],
        false,
    ),
    (
        "agence-eau-artois-picardie",
        "Agence de l'eau Artois-Picardie",
        "Agence de l'eau Artois-Picardie",
        "L'Agence de l'eau Artois-Picardie",
        FunderKind::PublicAgency,
        Some((R, "32")),
        &["environnement"],
        false,
    ),
    (
        "ars-grand-est",
        "ARS Grand Est",
        "ARS Grand Est",
        "L'ARS Grand Est",
        FunderKind::PublicAgency,
        Some((R, "44")),
        &["sante", "autonomie"],
        false,
    ),
    (
        "ars-bourgogne-franche-comte",
        "ARS Bourgogne-Franche-Comté",
        "ARS Bourgogne-Franche-Comté",
        "L'ARS Bourgogne-Franche-Comté",
        FunderKind::PublicAgency,
        Some((R, "27")),
        &["sante", "autonomie"],
        false,
    ),
    (
        "ars-occitanie",
        "ARS Occitanie",
        "ARS Occitanie",
        "L'ARS Occitanie",
        FunderKind::PublicAgency,
        Some((R, "76")),
        &["sante", "autonomie"],
        false,
    ),
    // Social protection.
    (
        "caf-haute-marne",
        "Caisse d'allocations familiales de la Haute-Marne",
        "CAF de la Haute-Marne",
        "La CAF de la Haute-Marne",
        FunderKind::SocialSecurity,
        Some((D, "52")),
        &["enfance-jeunesse", "lien-social"],
        false,
    ),
    (
        "caf-doubs",
        "Caisse d'allocations familiales du Doubs",
        "CAF du Doubs",
        "La CAF du Doubs",
        FunderKind::SocialSecurity,
        Some((D, "25")),
        &["enfance-jeunesse", "lien-social"],
        false,
    ),
    (
        "caf-lozere",
        "Caisse d'allocations familiales de la Lozère",
        "CAF de la Lozère",
        "La CAF de la Lozère",
        FunderKind::SocialSecurity,
        Some((D, "48")),
        &["enfance-jeunesse", "lien-social"],
        false,
    ),
    (
        "msa",
        "Mutualité sociale agricole (MSA)",
        "MSA",
        "La MSA",
        FunderKind::SocialSecurity,
        None,
        &[
            "lien-social",
            "enfance-jeunesse",
            "agriculture",
            "autonomie",
        ],
        false,
    ),
    (
        "carsat-nord-est",
        "Carsat Nord-Est",
        "Carsat Nord-Est",
        "La Carsat Nord-Est",
        FunderKind::SocialSecurity,
        Some((R, "44")),
        &["autonomie"],
        false,
    ),
    (
        "cnsa",
        "Caisse nationale de solidarité pour l'autonomie (CNSA)",
        "CNSA",
        "La CNSA",
        FunderKind::SocialSecurity,
        None,
        &["autonomie", "sante"],
        false,
    ),
    // Régions.
    (
        "region-grand-est",
        "Région Grand Est",
        "Région Grand Est",
        "La Région Grand Est",
        FunderKind::Region,
        Some((R, "44")),
        ANY,
        false,
    ),
    (
        "region-bourgogne-franche-comte",
        "Région Bourgogne-Franche-Comté",
        "Région Bourgogne-Franche-Comté",
        "La Région Bourgogne-Franche-Comté",
        FunderKind::Region,
        Some((R, "27")),
        ANY,
        false,
    ),
    (
        "region-occitanie",
        "Région Occitanie",
        "Région Occitanie",
        "La Région Occitanie",
        FunderKind::Region,
        Some((R, "76")),
        ANY,
        false,
    ),
    (
        "region-nouvelle-aquitaine",
        "Région Nouvelle-Aquitaine",
        "Région Nouvelle-Aquitaine",
        "La Région Nouvelle-Aquitaine",
        FunderKind::Region,
        Some((R, "75")),
        ANY,
        false,
    ),
    (
        "region-auvergne-rhone-alpes",
        "Région Auvergne-Rhône-Alpes",
        "Région Auvergne-Rhône-Alpes",
        "La Région Auvergne-Rhône-Alpes",
        FunderKind::Region,
        Some((R, "84")),
        ANY,
        false,
    ),
    (
        "region-bretagne",
        "Région Bretagne",
        "Région Bretagne",
        "La Région Bretagne",
        FunderKind::Region,
        Some((R, "53")),
        ANY,
        false,
    ),
    (
        "region-normandie",
        "Région Normandie",
        "Région Normandie",
        "La Région Normandie",
        FunderKind::Region,
        Some((R, "28")),
        ANY,
        false,
    ),
    (
        "region-hauts-de-france",
        "Région Hauts-de-France",
        "Région Hauts-de-France",
        "La Région Hauts-de-France",
        FunderKind::Region,
        Some((R, "32")),
        ANY,
        false,
    ),
    (
        "region-pays-de-la-loire",
        "Région Pays de la Loire",
        "Région Pays de la Loire",
        "La Région Pays de la Loire",
        FunderKind::Region,
        Some((R, "52")),
        ANY,
        false,
    ),
    (
        "region-centre-val-de-loire",
        "Région Centre-Val de Loire",
        "Région Centre-Val de Loire",
        "La Région Centre-Val de Loire",
        FunderKind::Region,
        Some((R, "24")),
        ANY,
        false,
    ),
    // Départements.
    (
        "departement-haute-marne",
        "Département de la Haute-Marne",
        "Département de la Haute-Marne",
        "Le Département de la Haute-Marne",
        FunderKind::Department,
        Some((D, "52")),
        ANY,
        false,
    ),
    (
        "departement-aube",
        "Département de l'Aube",
        "Département de l'Aube",
        "Le Département de l'Aube",
        FunderKind::Department,
        Some((D, "10")),
        ANY,
        false,
    ),
    (
        "departement-vosges",
        "Département des Vosges",
        "Département des Vosges",
        "Le Département des Vosges",
        FunderKind::Department,
        Some((D, "88")),
        ANY,
        false,
    ),
    (
        "departement-meuse",
        "Département de la Meuse",
        "Département de la Meuse",
        "Le Département de la Meuse",
        FunderKind::Department,
        Some((D, "55")),
        ANY,
        false,
    ),
    (
        "departement-doubs",
        "Département du Doubs",
        "Département du Doubs",
        "Le Département du Doubs",
        FunderKind::Department,
        Some((D, "25")),
        ANY,
        false,
    ),
    (
        "departement-jura",
        "Département du Jura",
        "Département du Jura",
        "Le Département du Jura",
        FunderKind::Department,
        Some((D, "39")),
        ANY,
        false,
    ),
    (
        "departement-cantal",
        "Département du Cantal",
        "Département du Cantal",
        "Le Département du Cantal",
        FunderKind::Department,
        Some((D, "15")),
        ANY,
        false,
    ),
    (
        "departement-lozere",
        "Département de la Lozère",
        "Département de la Lozère",
        "Le Département de la Lozère",
        FunderKind::Department,
        Some((D, "48")),
        ANY,
        false,
    ),
    (
        "departement-creuse",
        "Département de la Creuse",
        "Département de la Creuse",
        "Le Département de la Creuse",
        FunderKind::Department,
        Some((D, "23")),
        ANY,
        false,
    ),
    (
        "departement-gers",
        "Département du Gers",
        "Département du Gers",
        "Le Département du Gers",
        FunderKind::Department,
        Some((D, "32")),
        ANY,
        false,
    ),
    (
        "departement-ardeche",
        "Département de l'Ardèche",
        "Département de l'Ardèche",
        "Le Département de l'Ardèche",
        FunderKind::Department,
        Some((D, "07")),
        ANY,
        false,
    ),
    (
        "departement-correze",
        "Département de la Corrèze",
        "Département de la Corrèze",
        "Le Département de la Corrèze",
        FunderKind::Department,
        Some((D, "19")),
        ANY,
        false,
    ),
    (
        "departement-nievre",
        "Département de la Nièvre",
        "Département de la Nièvre",
        "Le Département de la Nièvre",
        FunderKind::Department,
        Some((D, "58")),
        ANY,
        false,
    ),
    (
        "departement-orne",
        "Département de l'Orne",
        "Département de l'Orne",
        "Le Département de l'Orne",
        FunderKind::Department,
        Some((D, "61")),
        ANY,
        false,
    ),
    (
        "departement-cotes-d-armor",
        "Département des Côtes-d'Armor",
        "Département des Côtes-d'Armor",
        "Le Département des Côtes-d'Armor",
        FunderKind::Department,
        Some((D, "22")),
        ANY,
        false,
    ),
    // Europe.
    (
        "union-europeenne-feader-leader",
        "Union européenne — FEADER (LEADER)",
        "LEADER (FEADER)",
        "Le programme européen LEADER",
        FunderKind::Eu,
        None,
        ANY,
        false,
    ),
    (
        "union-europeenne-feder",
        "Union européenne — FEDER",
        "FEDER",
        "Le Fonds européen de développement régional",
        FunderKind::Eu,
        None,
        &[
            "energie-climat",
            "numerique",
            "economie-emploi",
            "environnement",
            "mobilite",
        ],
        false,
    ),
    // Foundations, banks and networks.
    (
        "fondation-du-patrimoine",
        "Fondation du patrimoine",
        "Fondation du patrimoine",
        "La Fondation du patrimoine",
        FunderKind::Foundation,
        None,
        &["patrimoine-tourisme"],
        false,
    ),
    (
        "fondation-de-france",
        "Fondation de France",
        "Fondation de France",
        "La Fondation de France",
        FunderKind::Foundation,
        None,
        &[
            "lien-social",
            "autonomie",
            "alimentation",
            "enfance-jeunesse",
        ],
        false,
    ),
    (
        "fondation-credit-agricole-pays-de-france",
        "Fondation Crédit Agricole Pays de France",
        "Fondation Crédit Agricole Pays de France",
        "La Fondation Crédit Agricole Pays de France",
        FunderKind::Foundation,
        None,
        &["patrimoine-tourisme", "economie-emploi"],
        false,
    ),
    (
        "fondation-rte",
        "Fondation RTE",
        "Fondation RTE",
        "La Fondation RTE",
        FunderKind::Foundation,
        None,
        &["economie-emploi", "lien-social", "tiers-lieux"],
        false,
    ),
    (
        "la-banque-postale",
        "La Banque Postale",
        "La Banque Postale",
        "La Banque Postale",
        FunderKind::Bank,
        None,
        ANY,
        true,
    ),
    (
        "credit-mutuel",
        "Crédit Mutuel",
        "Crédit Mutuel",
        "Le Crédit Mutuel",
        FunderKind::Bank,
        None,
        &["economie-emploi", "commerce", "agriculture", "habitat"],
        true,
    ),
    (
        "france-active",
        "France Active",
        "France Active",
        "France Active",
        FunderKind::Network,
        None,
        &["economie-emploi", "commerce", "tiers-lieux"],
        true,
    ),
    (
        "initiative-france",
        "Initiative France",
        "Initiative France",
        "Initiative France",
        FunderKind::Network,
        None,
        &["economie-emploi", "commerce"],
        true,
    ),
    (
        "france-tiers-lieux",
        "France Tiers-Lieux",
        "France Tiers-Lieux",
        "France Tiers-Lieux",
        FunderKind::Network,
        None,
        &["tiers-lieux", "numerique"],
        false,
    ),
    (
        "gal-pays-de-langres",
        "GAL du Pays de Langres",
        "GAL du Pays de Langres",
        "Le GAL du Pays de Langres",
        FunderKind::Other,
        Some((D, "52")),
        ANY,
        false,
    ),
];

/// Intercommunalities that fund schemes of their own (names come from the territory data).
const EPCI_FUNDERS: &[&str] = &[
    "200068658",
    "200072999",
    "244800405",
    "200034825",
    "200071116",
];

/// Contexts a scheme belongs to.
const PROGRAMMES: &[&str] = &[
    "le plan France Ruralités",
    "l'Agenda rural",
    "le programme Villages d'avenir",
    "le programme Petites villes de demain",
    "le contrat de relance et de transition écologique (CRTE)",
    "la stratégie régionale de revitalisation des bourgs-centres",
    "le schéma départemental d'amélioration de l'accessibilité des services au public",
    "le pacte territorial de relance",
    "la stratégie nationale bas-carbone",
    "le plan vélo et mobilités actives",
    "le programme LEADER du groupe d'action locale",
];

/// One sentence per theme, for descriptions.
const THEME_SENTENCES: &[(&str, &str)] = &[
    (
        "commerce",
        "Le maintien d'un commerce de proximité (épicerie, boulangerie, café ou multiservice) est essentiel à la vie du village et évite aux habitants des déplacements longs.",
    ),
    (
        "alimentation",
        "Il favorise une alimentation de qualité, les circuits courts et l'approvisionnement de la restauration collective en produits locaux et biologiques.",
    ),
    (
        "sante",
        "La lutte contre la désertification médicale et l'accès aux soins de premier recours sont au cœur du dispositif, en lien avec les professionnels de santé du territoire.",
    ),
    (
        "mobilite",
        "Il développe des solutions de mobilité adaptées aux territoires peu denses : covoiturage, transport à la demande, vélo et autopartage.",
    ),
    (
        "numerique",
        "Il accompagne la transition numérique des territoires ruraux et l'accès de tous aux services en ligne.",
    ),
    (
        "tiers-lieux",
        "Les tiers-lieux (espaces de coworking, ateliers partagés, fab labs, cafés associatifs) sont des lieux de rencontre, de travail et de création d'activités.",
    ),
    (
        "culture",
        "La culture en milieu rural est un levier d'attractivité : diffusion du spectacle vivant, lecture publique et éducation artistique.",
    ),
    (
        "sport",
        "La pratique sportive pour tous les âges passe par des équipements de proximité accessibles et bien entretenus.",
    ),
    (
        "lien-social",
        "Il renforce le lien social et lutte contre l'isolement, en particulier des personnes âgées et des familles monoparentales.",
    ),
    (
        "enfance-jeunesse",
        "L'accueil des enfants et des jeunes (petite enfance, écoles, loisirs) conditionne l'installation de familles dans les communes rurales.",
    ),
    (
        "autonomie",
        "Il soutient le maintien à domicile des personnes âgées et des personnes en situation de handicap, et l'aide aux aidants.",
    ),
    (
        "habitat",
        "La rénovation des logements anciens et la lutte contre la vacance redonnent vie aux centres-bourgs.",
    ),
    (
        "energie-climat",
        "La réduction des consommations d'énergie et le recours aux énergies renouvelables contribuent à la neutralité carbone et allègent les factures des collectivités.",
    ),
    (
        "environnement",
        "La préservation de la ressource en eau, de la biodiversité et des paysages est une priorité face au changement climatique.",
    ),
    (
        "patrimoine-tourisme",
        "La sauvegarde du patrimoine bâti et sa mise en valeur touristique renforcent l'identité et l'économie locales.",
    ),
    (
        "services-publics",
        "Il garantit l'accès des habitants à des services publics de qualité, au plus près de chez eux.",
    ),
    (
        "economie-emploi",
        "Il encourage la création et la reprise d'activités et le maintien de l'emploi local.",
    ),
    (
        "agriculture",
        "Il accompagne la transition agroécologique des exploitations et l'installation de nouveaux agriculteurs.",
    ),
    (
        "revitalisation",
        "La revitalisation des centres-bourgs passe par des commerces, des logements rénovés et des espaces publics accueillants.",
    ),
    (
        "ingenierie",
        "Un appui en ingénierie aide les petites communes à définir leur projet, à monter les dossiers et à mobiliser les financements.",
    ),
];

const PRIORITIES: &[&str] = &[
    "à la participation des habitants",
    "aux projets mutualisés entre plusieurs communes",
    "à la qualité architecturale et paysagère",
    "à l'emploi local et à l'insertion",
    "à la sobriété foncière",
    "à l'accessibilité aux personnes à mobilité réduite",
    "aux communes en zone de revitalisation rurale (ZRR)",
];

const PUBLICS: &[&str] = &[
    "pour les communes de moins de 3 500 habitants",
    "au bénéfice des collectivités rurales",
    "en zone de revitalisation rurale (ZRR)",
    "dans les bourgs-centres et les villages",
    "sur l'ensemble de son territoire",
    "pour les porteurs de projet publics et privés",
    "en milieu rural",
];

fn expenses(kind: Kind) -> &'static str {
    match kind {
        Building => {
            "travaux de gros œuvre, isolation des murs et des combles, remplacement des menuiseries, chauffage et ventilation, maîtrise d'œuvre"
        }
        Business => {
            "travaux d'aménagement du local, vitrine et enseigne, matériel professionnel, mobilier, équipements frigorifiques"
        }
        Equipment => {
            "acquisition et pose du matériel, raccordement aux réseaux, signalétique, formation des utilisateurs"
        }
        Network => {
            "études préalables, terrassement, pose et renouvellement des canalisations ou des réseaux, réfection des chaussées"
        }
        Heritage => {
            "maçonnerie, charpente, couverture, menuiseries, restauration des décors intérieurs, honoraires de l'architecte"
        }
        Nature => {
            "études, acquisition foncière, travaux de génie écologique, plantations et entretien les premières années"
        }
        Service => {
            "frais de personnel, prestations extérieures, frais de déplacement, communication et petit équipement"
        }
    }
}

const CONDITIONS: &[&str] = &[
    "être situé dans une commune de moins de 5 000 habitants",
    "démontrer un gain énergétique d'au moins 40 %",
    "associer les habitants et les usagers dès sa conception",
    "être inscrit dans le contrat de relance et de transition écologique du territoire",
    "présenter un plan de financement équilibré et un budget de fonctionnement sur trois ans",
    "respecter la réglementation environnementale et les règles d'urbanisme",
    "ne pas avoir commencé avant le dépôt de la demande",
    "créer ou maintenir au moins un emploi",
];

const FILINGS: &[&str] = &[
    "avant tout commencement d'exécution",
    "sur la plateforme en ligne du financeur",
    "auprès de la direction départementale des territoires (DDT)",
    "auprès du service instructeur, accompagné des devis",
    "au fil de l'eau, dans la limite des crédits disponibles",
];

const COFUNDING: &[&str] = &[
    "la DETR",
    "la DSIL",
    "les fonds européens LEADER",
    "les aides de la Région",
    "les aides du Département",
    "le Fonds vert",
];

const DOCUMENTS: &[&str] = &[
    "Délibération du conseil municipal",
    "Plan de financement prévisionnel",
    "Devis détaillés",
    "Note de présentation du projet",
    "Attestation de non-commencement des travaux",
    "Relevé d'identité bancaire",
    "Statuts de l'association",
    "Extrait Kbis",
    "Diagnostic énergétique",
    "Plans et permis de construire",
];

const ACTION_PROGRAMMES: &[&str] = &[
    "Villages d'avenir",
    "Cœur de village",
    "Bourgs-centres",
    "Territoires ruraux innovants",
    "Ruralité solidaire",
    "Transition écologique",
    "Vivre au pays",
];

/// « à » with an article: « à la », « à l' », « au », « aux ».
fn with_a(the: &str) -> String {
    if let Some(rest) = the.strip_prefix("le ") {
        format!("au {rest}")
    } else if let Some(rest) = the.strip_prefix("les ") {
        format!("aux {rest}")
    } else {
        format!("à {the}")
    }
}

/// An amount written the French way: « 250 000 » (with a no-break space).
fn euros(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The territory data a generator needs: real codes and what lies inside what.
struct Places {
    regions: Vec<String>,
    departments: Vec<String>,
    epcis: Vec<String>,
    departments_of_region: HashMap<String, Vec<String>>,
    epcis_of_department: HashMap<String, Vec<String>>,
    communes_of_epci: HashMap<String, Vec<String>>,
    names: HashMap<(TerritoryKind, String), String>,
}

impl Places {
    fn new(territories: &Territories) -> Places {
        let mut places = Places {
            regions: Vec::new(),
            departments: Vec::new(),
            epcis: Vec::new(),
            departments_of_region: HashMap::new(),
            epcis_of_department: HashMap::new(),
            communes_of_epci: HashMap::new(),
            names: HashMap::new(),
        };
        for t in territories.all() {
            places
                .names
                .insert((t.kind, t.code.clone()), t.name.clone());
            let parent = |kind: TerritoryKind| {
                t.parents
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, c)| c.clone())
            };
            match t.kind {
                // Régions that have départements (not the overseas collectivities).
                TerritoryKind::Region => places.regions.push(t.code.clone()),
                TerritoryKind::Department => {
                    places.departments.push(t.code.clone());
                    if let Some(region) = parent(TerritoryKind::Region) {
                        places
                            .departments_of_region
                            .entry(region)
                            .or_default()
                            .push(t.code.clone());
                    }
                }
                TerritoryKind::Epci => {
                    places.epcis.push(t.code.clone());
                    if let Some(department) = parent(TerritoryKind::Department) {
                        places
                            .epcis_of_department
                            .entry(department)
                            .or_default()
                            .push(t.code.clone());
                    }
                }
                TerritoryKind::Commune => {
                    if let Some(epci) = parent(TerritoryKind::Epci) {
                        places
                            .communes_of_epci
                            .entry(epci)
                            .or_default()
                            .push(t.code.clone());
                    }
                }
            }
        }
        let with_departments: Vec<String> = places
            .regions
            .iter()
            .filter(|r| r.len() == 2 && places.departments_of_region.contains_key(*r))
            .cloned()
            .collect();
        places.regions = with_departments;
        // Mainland and overseas régions only, not the overseas collectivities.
        let departments: Vec<String> = places
            .regions
            .iter()
            .flat_map(|r| places.departments_of_region[r].iter().cloned())
            .collect();
        places.departments = departments;
        let epcis: Vec<String> = places
            .departments
            .iter()
            .flat_map(|d| places.epcis_in(d).iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        places.epcis = epcis;
        for list in places
            .departments_of_region
            .values_mut()
            .chain(places.epcis_of_department.values_mut())
            .chain(places.communes_of_epci.values_mut())
        {
            list.sort();
        }
        places.regions.sort();
        places.departments.sort();
        places.epcis.sort();
        places
    }

    fn name(&self, kind: TerritoryKind, code: &str) -> Option<&str> {
        self.names.get(&(kind, code.to_owned())).map(String::as_str)
    }

    fn departments_in(&self, region: &str) -> &[String] {
        self.departments_of_region
            .get(region)
            .map_or(&[], Vec::as_slice)
    }

    fn epcis_in(&self, department: &str) -> &[String] {
        self.epcis_of_department
            .get(department)
            .map_or(&[], Vec::as_slice)
    }

    fn communes_in(&self, epci: &str) -> &[String] {
        self.communes_of_epci.get(epci).map_or(&[], Vec::as_slice)
    }

    /// The EPCIs of a région.
    fn epcis_in_region(&self, region: &str) -> Vec<&String> {
        self.departments_in(region)
            .iter()
            .flat_map(|d| self.epcis_in(d))
            .collect()
    }
}

/// The generator: a seeded random source, the funder pool and the territories.
pub struct Generator {
    rng: StdRng,
    funders: Vec<FunderDef>,
    /// For each funder, the objects it may fund.
    objects_of: Vec<Vec<usize>>,
    places: Places,
    next: usize,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("a non-empty list")
}

/// Up to `count` distinct items, in the list's order.
fn some<'a, T>(rng: &mut StdRng, items: &'a [T], count: usize) -> Vec<&'a T> {
    let mut chosen: Vec<usize> = Vec::new();
    let count = count.min(items.len());
    while chosen.len() < count {
        let i = rng.random_range(0..items.len());
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort();
    chosen.into_iter().map(|i| &items[i]).collect()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

impl Generator {
    pub fn new(territories: &Territories) -> Generator {
        let places = Places::new(territories);
        let mut funders: Vec<FunderDef> = FUNDERS
            .iter()
            .map(
                |&(slug, name, short, subject, kind, territory, themes, lender)| FunderDef {
                    slug: slug.to_owned(),
                    name: name.to_owned(),
                    short: short.to_owned(),
                    subject: subject.to_owned(),
                    kind,
                    territory: territory.map(|(k, c)| (k, c.to_owned())),
                    themes,
                    lender,
                },
            )
            .collect();
        for code in EPCI_FUNDERS {
            let name = places
                .name(TerritoryKind::Epci, code)
                .unwrap_or_else(|| panic!("EPCI {code} is in the territory data"))
                .to_owned();
            funders.push(FunderDef {
                slug: format!("epci-{code}"),
                subject: format!("La {name}"),
                short: name.clone(),
                name,
                kind: FunderKind::Intercommunality,
                territory: Some((TerritoryKind::Epci, (*code).to_owned())),
                themes: ANY,
                lender: false,
            });
        }
        for f in &funders {
            if let Some((kind, code)) = &f.territory {
                assert!(
                    places.name(*kind, code).is_some(),
                    "{}: unknown territory {code}",
                    f.slug
                );
            }
        }
        let objects_of = funders
            .iter()
            .map(|f| {
                (0..OBJECTS.len())
                    .filter(|&i| {
                        f.themes.is_empty()
                            || OBJECTS[i].themes.iter().any(|t| f.themes.contains(t))
                    })
                    .collect()
            })
            .collect();
        Generator {
            rng: StdRng::seed_from_u64(SEED),
            funders,
            objects_of,
            places,
            next: 0,
        }
    }

    /// The next `count` schemes.
    pub fn take(&mut self, count: usize) -> Vec<SchemeRecord> {
        (0..count).map(|_| self.scheme()).collect()
    }

    fn funder_record(&self, i: usize) -> FunderRecord {
        let f = &self.funders[i];
        FunderRecord {
            slug: f.slug.clone(),
            name: f.name.clone(),
            kind: f.kind,
            contact_email: None,
            public_body: None,
            name_in_sentence: None,
            parent: None,
            jurisdiction: Vec::new(),
        }
    }

    /// Where a scheme of this funder applies.
    fn perimeter(&mut self, funder: usize) -> Perimeter {
        let rng = &mut self.rng;
        let places = &self.places;
        let mut p = Perimeter {
            national: Some(false),
            ..Perimeter::default()
        };
        match self.funders[funder].territory.clone() {
            None => {
                let roll = rng.random_range(0..100);
                if roll < 35 {
                    p.national = Some(true);
                } else if roll < 65 {
                    p.regions = vec![pick(rng, &places.regions).clone()];
                } else if roll < 90 {
                    let n = if rng.random_bool(0.8) {
                        1
                    } else {
                        rng.random_range(2..5)
                    };
                    p.departments = some(rng, &places.departments, n)
                        .into_iter()
                        .cloned()
                        .collect();
                } else {
                    let n = rng.random_range(1..4);
                    p.epcis = some(rng, &places.epcis, n).into_iter().cloned().collect();
                }
            }
            Some((TerritoryKind::Region, region)) => {
                let roll = rng.random_range(0..100);
                if roll < 50 {
                    p.regions = vec![region];
                } else if roll < 85 {
                    let n = rng.random_range(1..4);
                    p.departments = some(rng, places.departments_in(&region), n)
                        .into_iter()
                        .cloned()
                        .collect();
                } else {
                    let epcis = places.epcis_in_region(&region);
                    let n = rng.random_range(1..6);
                    p.epcis = some(rng, &epcis, n)
                        .into_iter()
                        .map(|c| (*c).clone())
                        .collect();
                }
            }
            Some((TerritoryKind::Department, department)) => {
                let epcis = places.epcis_in(&department);
                if rng.random_bool(0.7) || epcis.is_empty() {
                    p.departments = vec![department];
                } else {
                    let n = rng.random_range(1..5);
                    p.epcis = some(rng, epcis, n).into_iter().cloned().collect();
                }
            }
            Some((TerritoryKind::Epci, epci)) => {
                let communes = places.communes_in(&epci);
                if rng.random_bool(0.7) || communes.is_empty() {
                    p.epcis = vec![epci];
                } else {
                    let n = rng.random_range(1..7);
                    p.communes = some(rng, communes, n).into_iter().cloned().collect();
                }
            }
            Some((TerritoryKind::Commune, commune)) => p.communes = vec![commune],
        }
        p
    }

    /// The name of a perimeter made of one territory, for titles.
    fn place_name(&self, p: &Perimeter) -> Option<String> {
        let one = |list: &Vec<String>, kind| {
            (list.len() == 1)
                .then(|| self.places.name(kind, &list[0]))
                .flatten()
        };
        let name = match (
            p.regions.len(),
            p.departments.len(),
            p.epcis.len(),
            p.communes.len(),
        ) {
            (1, 0, 0, 0) => one(&p.regions, TerritoryKind::Region),
            (0, 1, 0, 0) => one(&p.departments, TerritoryKind::Department),
            (0, 0, 1, 0) => one(&p.epcis, TerritoryKind::Epci),
            (0, 0, 0, 1) => one(&p.communes, TerritoryKind::Commune),
            _ => None,
        };
        name.map(str::to_owned)
    }

    fn scheme(&mut self) -> SchemeRecord {
        let index = self.next;
        self.next += 1;
        let funder = self.rng.random_range(0..self.funders.len());
        let object = &OBJECTS[*pick(&mut self.rng, &self.objects_of[funder])];
        let actions: Vec<&Action> = ACTIONS
            .iter()
            .filter(|a| a.kinds.contains(&object.kind))
            .collect();
        let action = *pick(&mut self.rng, &actions);
        let perimeter = self.perimeter(funder);
        let rng = &mut self.rng;
        let f = &self.funders[funder];

        // Aid types.
        let mut aid_types = Vec::new();
        if f.lender {
            aid_types.push(if rng.random_bool(0.8) {
                AidType::Loan
            } else {
                *pick(
                    rng,
                    &[
                        AidType::Guarantee,
                        AidType::RecoverableAdvance,
                        AidType::FinancialEngineering,
                    ],
                )
            });
        } else if (object.kind == Service && rng.random_bool(0.3))
            || (f.slug == "anct" && rng.random_bool(0.6))
        {
            aid_types.push(AidType::TechnicalEngineering);
            if rng.random_bool(0.4) {
                aid_types.push(AidType::Grant);
            }
        } else {
            aid_types.push(AidType::Grant);
            if rng.random_bool(0.06) {
                aid_types.push(*pick(
                    rng,
                    &[
                        AidType::RecoverableAdvance,
                        AidType::LegalEngineering,
                        AidType::Other,
                    ],
                ));
            }
        }
        let loan = aid_types[0] == AidType::Loan;
        let engineering = aid_types[0] == AidType::TechnicalEngineering;

        // Title.
        let what = format!("{} {}", action.the, object.de);
        let year = *pick(rng, &[2025, 2026, 2026, 2026, 2027]);
        let mut title = if loan {
            format!(
                "{} pour {what}",
                pick(
                    rng,
                    &[
                        "Prêt à taux zéro",
                        "Prêt bonifié",
                        "Prêt de long terme",
                        "Prêt d'honneur"
                    ]
                )
            )
        } else if engineering {
            format!(
                "{} pour {what}",
                pick(
                    rng,
                    &[
                        "Accompagnement en ingénierie",
                        "Appui technique",
                        "Assistance à maîtrise d'ouvrage"
                    ]
                )
            )
        } else {
            match rng.random_range(0..10) {
                0..=2 => format!("Aide {}", with_a(&what)),
                3 => format!("Subvention pour {what}"),
                4 | 5 => format!("{} — aide {}", f.short, with_a(&what)),
                6 => format!(
                    "Fonds {} pour {what}",
                    match f.kind {
                        FunderKind::Region => "régional",
                        FunderKind::Department => "départemental",
                        FunderKind::Intercommunality => "intercommunal",
                        FunderKind::Eu => "européen",
                        _ => "national",
                    }
                ),
                7 => format!("Appel à projets {year} : {what}"),
                8 => format!("Programme « {} » — {what}", pick(rng, ACTION_PROGRAMMES)),
                _ => capitalize(&what),
            }
        };
        match rng.random_range(0..10) {
            0..=2 => {
                if let Some(place) = self.place_name(&perimeter) {
                    title = format!("{title} – {place}");
                }
            }
            3 => title.push_str(" en milieu rural"),
            4 => title = format!("{title} ({year})"),
            _ => {}
        }
        let rng = &mut self.rng;

        // Funding.
        let mut funding = Funding::default();
        let round = |v: i64, step: i64| (v / step).max(1) * step;
        if loan {
            funding.amount_min = Some(round(rng.random_range(5_000..100_000), 5_000));
            funding.amount_max = Some(funding.amount_min.unwrap() * rng.random_range(5..40));
        } else if !engineering {
            let rate = *pick(
                rng,
                &[
                    20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 50.0, 60.0, 70.0, 80.0, 100.0,
                ],
            );
            funding.rate_max = Some(rate);
            if rng.random_bool(0.3) {
                funding.rate_min = Some((rate / 2.0).round());
            }
            if rng.random_bool(0.6) {
                funding.amount_max = Some(round(rng.random_range(5_000..800_000), 5_000));
            }
            if rng.random_bool(0.2) {
                funding.amount_min = Some(round(rng.random_range(1_000..5_000), 500));
            }
            if rng.random_bool(0.2) {
                funding.max_public_aid_rate = Some(80.0);
            }
        }
        if object.kind == Business && rng.random_bool(0.6) {
            funding.regime = Some(*pick(
                rng,
                &[
                    StateAidRegime::DeMinimis,
                    StateAidRegime::DeMinimis,
                    StateAidRegime::DeMinimisSieg,
                ],
            ));
        } else if object.kind != Business && rng.random_bool(0.2) {
            funding.regime = Some(StateAidRegime::None);
        }

        // Rules.
        let mut rules = Rules::default();
        if rng.random_bool(0.3) {
            rules.max_commune_population = Some(*pick(rng, &[1_000, 2_000, 3_500, 5_000, 10_000]));
        }
        if rng.random_bool(0.2) {
            rules.min_project_cost = Some(round(rng.random_range(5_000..50_000), 1_000));
        }
        if rng.random_bool(0.1) {
            rules.max_project_cost = Some(round(rng.random_range(100_000..2_000_000), 10_000));
        }
        if rng.random_bool(0.5) {
            rules.no_start_before_filing = Some(true);
        }
        if object.kind == Business {
            rules.economic_activity = Some(true);
        }

        // Calendar: permanent, yearly or one-off, around 2026.
        let calendar = match rng.random_range(0..100) {
            0..=39 => Calendar {
                recurrence: Some(Recurrence::Permanent),
                opens_on: None,
                closes_on: None,
            },
            40..=74 => {
                let opens = date(*pick(rng, &[2025, 2026, 2026]), rng.random_range(1..10), 1);
                Calendar {
                    recurrence: Some(Recurrence::Recurring),
                    opens_on: Some(opens),
                    closes_on: Some(opens + chrono::Duration::days(rng.random_range(60..300))),
                }
            }
            _ => {
                let opens = date(2025, 7, 1) + chrono::Duration::days(rng.random_range(0..480));
                Calendar {
                    recurrence: Some(Recurrence::OneOff),
                    opens_on: rng.random_bool(0.8).then_some(opens),
                    closes_on: Some(opens + chrono::Duration::days(rng.random_range(30..200))),
                }
            }
        };

        // Themes: the object's, sometimes a neighbour.
        let count = rng.random_range(1..=object.themes.len());
        let mut themes: Vec<String> = some(rng, object.themes, count)
            .into_iter()
            .map(|t| (*t).to_owned())
            .collect();
        if rng.random_bool(0.15) {
            let extra = pick(rng, catalog::vocab::THEMES).0.to_owned();
            if !themes.contains(&extra) {
                themes.push(extra);
            }
        }

        // Beneficiaries.
        let count = rng.random_range(1..=object.beneficiaries.len());
        let mut beneficiary_types: Vec<BeneficiaryType> = some(rng, object.beneficiaries, count)
            .into_iter()
            .copied()
            .collect();
        if rng.random_bool(0.1) && !beneficiary_types.contains(&B::Association) {
            beneficiary_types.push(B::Association);
        }

        // Summary.
        let mut summary = format!(
            "{} {} {what} {}.",
            f.subject,
            pick(
                rng,
                &[
                    "soutient",
                    "finance",
                    "accompagne",
                    "cofinance",
                    "encourage"
                ]
            ),
            pick(rng, PUBLICS)
        );
        if let Some(rate) = funding.rate_max {
            summary.push_str(&format!(" Jusqu'à {rate} % des dépenses éligibles"));
            match funding.amount_max {
                Some(max) => summary.push_str(&format!(", dans la limite de {} €.", euros(max))),
                None => summary.push('.'),
            }
        } else if let (Some(min), Some(max)) = (funding.amount_min, funding.amount_max) {
            summary.push_str(&format!(
                " Prêt de {} à {} € sur {} ans.",
                euros(min),
                euros(max),
                pick(rng, &[5, 10, 15, 20, 25, 40])
            ));
        }

        // Description: one to three paragraphs.
        let mut paragraphs = Vec::new();
        let words = some(rng, object.words, 3);
        let mut context = format!(
            "Ce dispositif accompagne les projets portant sur {} : {}, {} ou {}.",
            object.the,
            words[0],
            words[1],
            words.get(2).unwrap_or(&words[0])
        );
        for theme in &themes {
            if let Some((_, sentence)) = THEME_SENTENCES.iter().find(|(t, _)| t == theme)
                && rng.random_bool(0.7)
            {
                context.push(' ');
                context.push_str(sentence);
            }
        }
        if rng.random_bool(0.6) {
            context.push_str(&format!(" Il s'inscrit dans {}.", pick(rng, PROGRAMMES)));
        }
        if rng.random_bool(0.4) {
            context.push_str(&format!(
                " Une attention particulière est portée {}.",
                pick(rng, PRIORITIES)
            ));
        }
        paragraphs.push(context);
        if rng.random_bool(0.7) {
            let neighbour = pick(rng, OBJECTS);
            let mut eligibility = format!(
                "Sont éligibles les dépenses {} : {}.",
                if object.kind == Service {
                    "de fonctionnement et d'investissement"
                } else {
                    "d'investissement"
                },
                expenses(object.kind)
            );
            eligibility.push_str(&format!(" Le projet doit {}.", pick(rng, CONDITIONS)));
            if rng.random_bool(0.5) {
                eligibility.push_str(&format!(
                    " Les projets liés à {} ({}) peuvent être soutenus dans le même dossier.",
                    neighbour.the,
                    pick(rng, neighbour.words)
                ));
            }
            paragraphs.push(eligibility);
        }
        if rng.random_bool(0.5) {
            let mut terms = String::new();
            if let Some(rate) = funding.rate_max {
                terms.push_str(&format!(
                    "Le taux d'aide est de {rate} % au maximum du coût hors taxes"
                ));
                match funding.amount_max {
                    Some(max) => {
                        terms.push_str(&format!(", plafonné à {} € par projet. ", euros(max)))
                    }
                    None => terms.push_str(". "),
                }
            }
            terms.push_str(&format!(
                "Le dossier est déposé {}. Aide cumulable avec {} dans la limite de 80 % d'aides publiques.",
                pick(rng, FILINGS),
                pick(rng, COFUNDING)
            ));
            if rng.random_bool(0.5) {
                terms.push_str(&format!(
                    " Renseignements auprès du service développement territorial ({}).",
                    f.short
                ));
            }
            paragraphs.push(terms);
        }
        let description = paragraphs.join("\n\n");

        let mut funders = vec![self.funder_record(funder)];
        if self.rng.random_bool(0.15) {
            let other = self.rng.random_range(0..self.funders.len());
            if other != funder {
                funders.push(self.funder_record(other));
            }
        }
        let rng = &mut self.rng;
        let count = rng.random_range(0..5);
        let required_documents = some(rng, DOCUMENTS, count)
            .into_iter()
            .map(|d| (*d).to_owned())
            .collect();
        let status = match rng.random_range(0..100) {
            0..=89 => SchemeStatus::Published,
            90..=95 => SchemeStatus::Draft,
            _ => SchemeStatus::Archived,
        };
        let words: Vec<String> = catalog::text::words(&title)
            .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric()))
            .take(10)
            .collect();
        let mut stem = words.join("-");
        stem.truncate(100);
        let slug = format!("{}-{}", stem.trim_end_matches('-'), index + 1);
        debug_assert!(themes.iter().all(|t| theme_label(t).is_some()));
        let source_url = Some(format!(
            "https://{}.exemple.fr/aides/{slug}",
            self.funders[funder].slug
        ));
        let application_url = rng
            .random_bool(0.4)
            .then(|| format!("https://demarches.exemple.fr/{slug}"));
        SchemeRecord {
            slug,
            title,
            summary: Some(summary),
            description: Some(description),
            funders,
            beneficiary_types,
            themes,
            aid_types,
            natures: Vec::new(),
            perimeter: Some(perimeter),
            rules,
            funding,
            calendar,
            required_documents,
            application_url,
            source_url,
            verified_on: Some(date(2025, 9, 1) + chrono::Duration::days(rng.random_range(0..420))),
            status: Some(status),
        }
    }
}

/// The catalogue of `count` schemes.
pub fn generate(count: usize, territories: &Territories) -> Vec<SchemeRecord> {
    Generator::new(territories).take(count)
}
