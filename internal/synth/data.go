package synth

// Built-in word lists. All lists are slices (never maps) so that picking from
// them with a seeded source is deterministic.

// country is where a party sits; it decides address style, VAT id, IBAN and
// the usual tax rates.
type country int

const (
	countryDE country = iota
	countryAT
	countryFR
	countryGB
	countryUS
	countryCH
)

// code is the ISO 3166 alpha-2 code.
func (c country) code() string {
	return [...]string{"DE", "AT", "FR", "GB", "US", "CH", "NL", "ES", "IT"}[c]
}

// name is the country's name in the invoice language (printed for foreign
// customers only).
func (c country) name(l lang) string {
	names := [...][3]string{
		countryDE: {"Germany", "Deutschland", "Allemagne"},
		countryAT: {"Austria", "Österreich", "Autriche"},
		countryFR: {"France", "Frankreich", "France"},
		countryGB: {"United Kingdom", "Vereinigtes Königreich", "Royaume-Uni"},
		countryUS: {"United States", "USA", "États-Unis"},
		countryCH: {"Switzerland", "Schweiz", "Suisse"},
	}
	return names[c][l]
}

var (
	surnamesDE = []string{
		"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
		"Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
		"Schröder", "Neumann", "Schwarz", "Braun", "Zimmermann", "Krüger",
		"Hartmann", "Lange", "Weiß", "Köhler",
	}
	surnamesAT = []string{
		"Gruber", "Huber", "Bauer", "Pichler", "Moser", "Steiner", "Hofer",
		"Leitner", "Wimmer", "Egger", "Mayr", "Brunner",
	}
	tradesDE = []string{
		"Haustechnik", "Elektrotechnik", "Logistik", "Bürobedarf", "Software",
		"Metallbau", "Druckerei", "Gebäudereinigung", "Medientechnik",
		"Maschinenbau", "Holzbau", "IT-Service", "Messebau", "Datentechnik",
	}
	formsDE   = []string{"GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG", "e.K.", "UG (haftungsbeschränkt)"}
	formsAT   = []string{"GmbH", "GmbH", "AG", "OG", "KG"}
	streetsDE = []string{
		"Hauptstraße", "Bahnhofstraße", "Gartenweg", "Industriestraße",
		"Schillerstraße", "Goethestraße", "Lindenallee", "Am Marktplatz",
		"Friedrichstraße", "Königsallee", "Mühlenweg", "Rosenstraße",
	}
	citiesDE = []string{
		"10115 Berlin", "20095 Hamburg", "80331 München", "50667 Köln",
		"60311 Frankfurt am Main", "70173 Stuttgart", "40213 Düsseldorf",
		"04109 Leipzig", "28195 Bremen", "90402 Nürnberg", "01067 Dresden",
		"30159 Hannover",
	}
	streetsAT = []string{
		"Mariahilfer Straße", "Landstraßer Hauptstraße", "Herrengasse",
		"Getreidegasse", "Wiener Straße", "Schubertgasse",
	}
	citiesAT = []string{"1010 Wien", "1060 Wien", "8010 Graz", "4020 Linz", "5020 Salzburg", "6020 Innsbruck"}

	surnamesFR = []string{
		"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
		"Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel",
		"Garcia", "Fournier", "Girard", "Bonnet", "Mercier", "Rousseau",
	}
	tradesFR = []string{
		"Électricité", "Transports", "Informatique", "Conseil", "Imprimerie",
		"Menuiserie", "Nettoyage", "Bureautique", "Ingénierie", "Plomberie",
		"Fournitures", "Étanchéité",
	}
	formsFR   = []string{"SARL", "SARL", "SAS", "SA", "EURL", "SASU"}
	streetsFR = []string{
		"rue de la République", "avenue Jean Jaurès", "boulevard Voltaire",
		"rue Victor Hugo", "place du Marché", "rue des Lilas",
		"chemin des Vignes", "quai de la Loire", "rue Pasteur",
	}
	citiesFR = []string{
		"75011 Paris", "69002 Lyon", "13001 Marseille", "31000 Toulouse",
		"33000 Bordeaux", "44000 Nantes", "67000 Strasbourg", "59000 Lille",
		"34000 Montpellier", "35000 Rennes",
	}

	brandsGB = []string{
		"Harbour", "Thornbury", "Kingsley", "Ashford", "Whitmore", "Blackwell",
		"Pennington", "Oakridge", "Riverside", "Highgate", "Marlow", "Fairfax",
		"Castleton", "Brookfield",
	}
	tradesGB = []string{
		"Digital", "Supplies", "Engineering", "Consulting", "Logistics", "Print",
		"Facilities", "Software", "Catering", "Joinery", "Analytics", "Media",
	}
	formsGB   = []string{"Ltd", "Ltd", "Limited", "PLC", "LLP"}
	streetsGB = []string{
		"King Street", "High Street", "Church Road", "Station Road",
		"Victoria Road", "Mill Lane", "Queen's Road", "Park Avenue",
	}
	citiesGB = []string{
		"London EC1A 1BB", "Manchester M2 4LQ", "Bristol BS1 4DJ", "Leeds LS1 5DL",
		"Birmingham B2 4QA", "Edinburgh EH2 2ER", "Glasgow G1 3SL", "Cardiff CF10 1EP",
	}

	brandsUS  = []string{"Bluewater", "Redwood", "Summit", "Lakeside", "Granite", "Evergreen", "Silverline", "Pioneer"}
	tradesUS  = []string{"Analytics", "Media", "Systems", "Labs", "Trading", "Health", "Robotics"}
	formsUS   = []string{"Inc.", "Inc.", "LLC", "Corp."}
	streetsUS = []string{"Market Street", "Main Street", "Broadway", "Elm Street", "Commerce Drive"}
	citiesUS  = []string{
		"San Francisco, CA 94105", "New York, NY 10001", "Austin, TX 78701",
		"Chicago, IL 60601", "Seattle, WA 98101", "Boston, MA 02110",
	}

	brandsCH  = []string{"Alpenblick", "Matterhorn", "Rheintal", "Limmat", "Säntis", "Jura"}
	tradesCH  = []string{"Treuhand", "Informatik", "Handel", "Uhren", "Consulting"}
	formsCH   = []string{"AG", "AG", "GmbH", "SA"}
	streetsCH = []string{"Bahnhofstrasse", "Marktgasse", "Rue du Rhône", "Aeschenvorstadt", "Seestrasse"}
	citiesCH  = []string{"8001 Zürich", "3011 Bern", "1204 Genève", "4051 Basel", "6003 Luzern"}

	firstNamesDE = []string{"Hans", "Petra", "Jürgen", "Sabine", "Thomas", "Claudia", "Stefan", "Andrea"}
	firstNamesFR = []string{"Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Isabelle", "François", "Céline"}
	firstNamesGB = []string{"James", "Sarah", "Oliver", "Emma", "William", "Charlotte", "Harry", "Amelia"}
)

// bank is a fictional bank with a BIC of valid shape.
type bank struct {
	name, bic string
}

var (
	banksDE = []bank{
		{"Nordbank AG", "NORDDEHHXXX"}, {"Sparkasse Rheinland", "SPRHDE33XXX"},
		{"Volksbank Mitte eG", "GENODEM1VBM"}, {"Handelsbank Süd", "HBSUDEMMXXX"},
	}
	banksAT = []bank{{"Alpenbank AG", "ALPBATWWXXX"}, {"Raiffeisenkasse Ost", "RKOSAT2LXXX"}}
	banksFR = []bank{
		{"Banque du Littoral", "BLITFRPPXXX"}, {"Crédit Régional", "CRREFRPPLYO"},
		{"Caisse d'Épargne Centre", "CEPCFRPP123"},
	}
	banksGB = []bank{
		{"Albion Bank plc", "ALBNGB2LXXX"}, {"Northern Counties Bank", "NCBKGB22XXX"},
		{"Thames Savings Bank", "THSBGB2LXXX"},
	}
)

// qtyKind says how a product is counted, which decides the quantities drawn.
type qtyKind int

const (
	qtyPieces qtyKind = iota // 1..max pieces
	qtyHours                 // quarter and half hours
	qtyDays                  // half days
	qtyMetres                // half metres
	qtyMonths                // 1, 3, 6, 12
	qtyFlat                  // always 1
)

// product is one catalogue entry; desc is indexed by lang. Prices are in
// cents of the invoice currency.
type product struct {
	desc     [3]string
	kind     qtyKind
	maxQty   int
	min, max int64
}

// Descriptions stay at most maxDescLen characters (tested), so that they fit
// on one table line in every layout.
var catalog = []product{
	{[3]string{"Consulting services", "Beratungsleistung", "Prestation de conseil"}, qtyHours, 24, 8000, 18000},
	{[3]string{"Software development", "Softwareentwicklung", "Développement logiciel"}, qtyHours, 40, 7000, 15000},
	{[3]string{"Project management", "Projektmanagement", "Gestion de projet"}, qtyHours, 16, 6500, 14000},
	{[3]string{"On-site installation", "Montage vor Ort", "Installation sur site"}, qtyHours, 12, 4500, 9500},
	{[3]string{"Travel expenses", "Reisekosten", "Frais de déplacement"}, qtyFlat, 1, 2000, 40000},
	{[3]string{"Annual maintenance contract", "Wartungsvertrag (jährlich)", "Contrat de maintenance annuel"}, qtyFlat, 1, 30000, 240000},
	{[3]string{"Web hosting, monthly", "Webhosting (monatlich)", "Hébergement web mensuel"}, qtyMonths, 12, 499, 5990},
	{[3]string{"Laser printer toner, black", "Tonerkartusche schwarz", "Cartouche de toner noir"}, qtyPieces, 12, 2500, 14000},
	{[3]string{"Copy paper A4, 500 sheets", "Kopierpapier A4, 500 Blatt", "Ramette papier A4, 500 feuilles"}, qtyPieces, 40, 329, 799},
	{[3]string{"Network cable Cat6 (m)", "Netzwerkkabel Cat6 (m)", "Câble réseau Cat6 (m)"}, qtyMetres, 120, 49, 299},
	{[3]string{"Office chair, ergonomic", "Bürostuhl, ergonomisch", "Chaise de bureau ergonomique"}, qtyPieces, 6, 18000, 65000},
	{[3]string{"27\" monitor", "Monitor 27 Zoll", "Écran 27 pouces"}, qtyPieces, 8, 17900, 44900},
	{[3]string{"Software licence (1 year)", "Softwarelizenz (1 Jahr)", "Licence logicielle (1 an)"}, qtyPieces, 25, 4000, 90000},
	{[3]string{"Training workshop (day)", "Schulung (Tagessatz)", "Formation (journée)"}, qtyDays, 3, 60000, 180000},
	{[3]string{"Delivery and shipping", "Versandkosten", "Frais de livraison"}, qtyFlat, 1, 495, 8900},
	{[3]string{"Office cleaning", "Unterhaltsreinigung", "Prestation de nettoyage"}, qtyHours, 40, 1800, 4000},
	{[3]string{"Graphic design", "Grafikdesign", "Création graphique"}, qtyHours, 20, 5500, 12000},
	{[3]string{"Spare parts kit", "Ersatzteilset", "Kit de pièces détachées"}, qtyPieces, 10, 1500, 24000},
	{[3]string{"Screws M6x20 (box of 100)", "Schrauben M6x20 (100 Stk.)", "Vis M6x20 (boîte de 100)"}, qtyPieces, 20, 399, 1499},
	{[3]string{"Coffee beans, 1 kg", "Kaffeebohnen, 1 kg", "Café en grains, 1 kg"}, qtyPieces, 12, 1190, 2790},
	{[3]string{"Catering per person", "Catering pro Person", "Traiteur par personne"}, qtyPieces, 60, 1200, 4500},
	{[3]string{"Translation (per page)", "Übersetzung (pro Seite)", "Traduction (par page)"}, qtyPieces, 40, 1800, 4500},
	{[3]string{"Installation material", "Installationsmaterial", "Matériel d'installation"}, qtyFlat, 1, 1500, 60000},
	{[3]string{"Cable ties, black (pack)", "Kabelbinder schwarz (Pack)", "Colliers de serrage noirs"}, qtyPieces, 30, 249, 899},
	{[3]string{"USB-C docking station", "USB-C-Dockingstation", "Station d'accueil USB-C"}, qtyPieces, 10, 8900, 24900},
	{[3]string{"Wireless keyboard", "Funktastatur", "Clavier sans fil"}, qtyPieces, 15, 2490, 8990},
	{[3]string{"Server rack rental", "Miete Serverschrank", "Location baie serveur"}, qtyMonths, 12, 9900, 39900},
	{[3]string{"Emergency call-out fee", "Notdienstpauschale", "Forfait intervention urgente"}, qtyFlat, 1, 8900, 19900},
	{[3]string{"LED panel 60x60", "LED-Panel 60x60", "Dalle LED 60x60"}, qtyPieces, 40, 3490, 9900},
	{[3]string{"Document archiving (box)", "Aktenarchivierung (Karton)", "Archivage (carton)"}, qtyPieces, 50, 350, 1200},
}

// maxDescLen bounds line-item descriptions (runes), including a reference
// prefix on long invoices.
const maxDescLen = 44

// refPrefix introduces an article reference on long invoices.
var refPrefix = [3]string{"Item", "Art.", "Réf."}
