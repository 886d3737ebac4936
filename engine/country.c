/* engine/country.c — the ISO 3166-1 alpha-2 country codes and the names a
 * shopper reads ("we can't deliver to Australia yet").  The checkout
 * settings' delivery `countries` are checked against this table at load;
 * addresses carry the code.  Names take "the" where a sentence needs it
 * ("to the United Kingdom").  Generated once from Debian's iso-codes
 * (iso_3166-1.json, common names); "UK" is read as GB, as people write it. */
#include "checkout_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct cname {
    char code[3];
    const char *name;
} cname;

/* sorted by code, for bsearch */
static const cname table[] = {
    {"AD", "Andorra"}, {"AE", "the United Arab Emirates"}, {"AF", "Afghanistan"},
    {"AG", "Antigua and Barbuda"}, {"AI", "Anguilla"}, {"AL", "Albania"}, {"AM", "Armenia"}, {"AO", "Angola"},
    {"AQ", "Antarctica"}, {"AR", "Argentina"}, {"AS", "American Samoa"}, {"AT", "Austria"},
    {"AU", "Australia"}, {"AW", "Aruba"}, {"AX", "Åland Islands"}, {"AZ", "Azerbaijan"},
    {"BA", "Bosnia and Herzegovina"}, {"BB", "Barbados"}, {"BD", "Bangladesh"}, {"BE", "Belgium"},
    {"BF", "Burkina Faso"}, {"BG", "Bulgaria"}, {"BH", "the Bahrain"}, {"BI", "Burundi"}, {"BJ", "Benin"},
    {"BL", "Saint Barthélemy"}, {"BM", "Bermuda"}, {"BN", "Brunei"}, {"BO", "Bolivia"},
    {"BQ", "Caribbean Netherlands"}, {"BR", "Brazil"}, {"BS", "the Bahamas"}, {"BT", "Bhutan"},
    {"BV", "Bouvet Island"}, {"BW", "Botswana"}, {"BY", "Belarus"}, {"BZ", "Belize"}, {"CA", "Canada"},
    {"CC", "the Cocos (Keeling) Islands"}, {"CD", "the Democratic Republic of the Congo"},
    {"CF", "the Central African Republic"}, {"CG", "the Republic of the Congo"}, {"CH", "Switzerland"},
    {"CI", "Côte d'Ivoire"}, {"CK", "the Cook Islands"}, {"CL", "Chile"}, {"CM", "Cameroon"}, {"CN", "China"},
    {"CO", "Colombia"}, {"CR", "Costa Rica"}, {"CU", "Cuba"}, {"CV", "Cabo Verde"}, {"CW", "Curaçao"},
    {"CX", "the Christmas Island"}, {"CY", "Cyprus"}, {"CZ", "Czechia"}, {"DE", "Germany"},
    {"DJ", "Djibouti"}, {"DK", "Denmark"}, {"DM", "Dominica"}, {"DO", "the Dominican Republic"},
    {"DZ", "Algeria"}, {"EC", "Ecuador"}, {"EE", "Estonia"}, {"EG", "Egypt"}, {"EH", "Western Sahara"},
    {"ER", "Eritrea"}, {"ES", "Spain"}, {"ET", "Ethiopia"}, {"FI", "Finland"}, {"FJ", "Fiji"},
    {"FK", "the Falkland Islands"}, {"FM", "Micronesia"}, {"FO", "the Faroe Islands"}, {"FR", "France"},
    {"GA", "Gabon"}, {"GB", "the United Kingdom"}, {"GD", "Grenada"}, {"GE", "Georgia"},
    {"GF", "French Guiana"}, {"GG", "Guernsey"}, {"GH", "Ghana"}, {"GI", "Gibraltar"}, {"GL", "Greenland"},
    {"GM", "the Gambia"}, {"GN", "Guinea"}, {"GP", "Guadeloupe"}, {"GQ", "Equatorial Guinea"},
    {"GR", "Greece"}, {"GS", "South Georgia and the South Sandwich Islands"}, {"GT", "Guatemala"},
    {"GU", "Guam"}, {"GW", "Guinea-Bissau"}, {"GY", "Guyana"}, {"HK", "Hong Kong"},
    {"HM", "the Heard Island and McDonald Islands"}, {"HN", "Honduras"}, {"HR", "Croatia"}, {"HT", "Haiti"},
    {"HU", "Hungary"}, {"ID", "Indonesia"}, {"IE", "Ireland"}, {"IL", "Israel"}, {"IM", "Isle of Man"},
    {"IN", "India"}, {"IO", "the British Indian Ocean Territory"}, {"IQ", "Iraq"}, {"IR", "Iran"},
    {"IS", "Iceland"}, {"IT", "Italy"}, {"JE", "Jersey"}, {"JM", "Jamaica"}, {"JO", "Jordan"},
    {"JP", "Japan"}, {"KE", "Kenya"}, {"KG", "Kyrgyzstan"}, {"KH", "Cambodia"}, {"KI", "Kiribati"},
    {"KM", "the Comoros"}, {"KN", "Saint Kitts and Nevis"}, {"KP", "North Korea"}, {"KR", "South Korea"},
    {"KW", "Kuwait"}, {"KY", "the Cayman Islands"}, {"KZ", "Kazakhstan"}, {"LA", "Laos"}, {"LB", "Lebanon"},
    {"LC", "Saint Lucia"}, {"LI", "Liechtenstein"}, {"LK", "Sri Lanka"}, {"LR", "Liberia"}, {"LS", "Lesotho"},
    {"LT", "Lithuania"}, {"LU", "Luxembourg"}, {"LV", "Latvia"}, {"LY", "Libya"}, {"MA", "Morocco"},
    {"MC", "Monaco"}, {"MD", "Moldova"}, {"ME", "Montenegro"}, {"MF", "Saint Martin"}, {"MG", "Madagascar"},
    {"MH", "the Marshall Islands"}, {"MK", "North Macedonia"}, {"ML", "Mali"}, {"MM", "Myanmar"},
    {"MN", "Mongolia"}, {"MO", "Macao"}, {"MP", "the Northern Mariana Islands"}, {"MQ", "Martinique"},
    {"MR", "Mauritania"}, {"MS", "Montserrat"}, {"MT", "Malta"}, {"MU", "Mauritius"}, {"MV", "the Maldives"},
    {"MW", "Malawi"}, {"MX", "Mexico"}, {"MY", "Malaysia"}, {"MZ", "Mozambique"}, {"NA", "Namibia"},
    {"NC", "New Caledonia"}, {"NE", "Niger"}, {"NF", "Norfolk Island"}, {"NG", "Nigeria"},
    {"NI", "Nicaragua"}, {"NL", "the Netherlands"}, {"NO", "Norway"}, {"NP", "Nepal"}, {"NR", "Nauru"},
    {"NU", "Niue"}, {"NZ", "New Zealand"}, {"OM", "Oman"}, {"PA", "Panama"}, {"PE", "Peru"},
    {"PF", "French Polynesia"}, {"PG", "Papua New Guinea"}, {"PH", "the Philippines"}, {"PK", "Pakistan"},
    {"PL", "Poland"}, {"PM", "Saint Pierre and Miquelon"}, {"PN", "the Pitcairn"}, {"PR", "Puerto Rico"},
    {"PS", "Palestine"}, {"PT", "Portugal"}, {"PW", "Palau"}, {"PY", "Paraguay"}, {"QA", "Qatar"},
    {"RE", "Réunion"}, {"RO", "Romania"}, {"RS", "Serbia"}, {"RU", "Russia"}, {"RW", "Rwanda"},
    {"SA", "Saudi Arabia"}, {"SB", "the Solomon Islands"}, {"SC", "the Seychelles"}, {"SD", "Sudan"},
    {"SE", "Sweden"}, {"SG", "Singapore"}, {"SH", "Saint Helena"}, {"SI", "Slovenia"},
    {"SJ", "Svalbard and Jan Mayen"}, {"SK", "Slovakia"}, {"SL", "Sierra Leone"}, {"SM", "San Marino"},
    {"SN", "Senegal"}, {"SO", "Somalia"}, {"SR", "Suriname"}, {"SS", "South Sudan"},
    {"ST", "Sao Tome and Principe"}, {"SV", "El Salvador"}, {"SX", "Sint Maarten"}, {"SY", "Syria"},
    {"SZ", "Eswatini"}, {"TC", "the Turks and Caicos Islands"}, {"TD", "Chad"},
    {"TF", "the French Southern Territories"}, {"TG", "Togo"}, {"TH", "Thailand"}, {"TJ", "Tajikistan"},
    {"TK", "Tokelau"}, {"TL", "Timor-Leste"}, {"TM", "Turkmenistan"}, {"TN", "Tunisia"}, {"TO", "Tonga"},
    {"TR", "Türkiye"}, {"TT", "Trinidad and Tobago"}, {"TV", "Tuvalu"}, {"TW", "Taiwan"}, {"TZ", "Tanzania"},
    {"UA", "Ukraine"}, {"UG", "Uganda"}, {"UM", "the United States Minor Outlying Islands"},
    {"US", "the United States"}, {"UY", "Uruguay"}, {"UZ", "Uzbekistan"}, {"VA", "Vatican City"},
    {"VC", "Saint Vincent and the Grenadines"}, {"VE", "Venezuela"}, {"VG", "the British Virgin Islands"},
    {"VI", "the US Virgin Islands"}, {"VN", "Vietnam"}, {"VU", "Vanuatu"}, {"WF", "Wallis and Futuna"},
    {"WS", "Samoa"}, {"YE", "Yemen"}, {"YT", "Mayotte"}, {"ZA", "South Africa"}, {"ZM", "Zambia"},
    {"ZW", "Zimbabwe"},
};

static int cmp(const void *k, const void *e) { return strcmp(k, ((const cname *)e)->code); }

bool eng__country_norm(const char *in, char out[3])
{
    if (!in || !isalpha((unsigned char)in[0]) || !isalpha((unsigned char)in[1]) || in[2])
        return false;
    out[0] = (char)toupper((unsigned char)in[0]);
    out[1] = (char)toupper((unsigned char)in[1]);
    out[2] = 0;
    if (strcmp(out, "UK") == 0)
        memcpy(out, "GB", 3);
    return bsearch(out, table, sizeof table / sizeof *table, sizeof *table, cmp) != NULL;
}

const char *eng__country_name(const char *code)
{
    char c[3];
    if (!eng__country_norm(code, c))
        return NULL;
    const cname *e = bsearch(c, table, sizeof table / sizeof *table, sizeof *table, cmp);
    return e ? e->name : NULL;
}

/* the 27 members of the European Union (2020-), named as one in messages */
static const char eu[][3] = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
                             "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"};

bool eng__country_in_eu(const char *code)
{
    for (size_t i = 0; i < sizeof eu / sizeof *eu; i++)
        if (strcmp(eu[i], code) == 0)
            return true;
    return false;
}

size_t eng__country_eu_count(void) { return sizeof eu / sizeof *eu; }
