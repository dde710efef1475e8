"""The labels and descriptions of ``ConsentPolicy.default()``'s purposes, in every language
the consent UI ships (English first: what ``purpose.label`` reads as)."""

from __future__ import annotations

__all__ = ["DESCRIPTIONS", "LABELS"]

LABELS: dict[str, dict[str, str]] = {
    "necessary": {
        "en": "Strictly necessary",
        "de": "Unbedingt erforderlich",
        "fr": "Strictement nécessaire",
        "es": "Estrictamente necesario",
        "it": "Strettamente necessario",
        "nl": "Strikt noodzakelijk",
        "pl": "Niezbędne",
        "pt": "Estritamente necessário",
    },
    "session_personalisation": {
        "en": "Tailor this visit",
        "de": "Diesen Besuch anpassen",
        "fr": "Adapter cette visite",
        "es": "Adaptar esta visita",
        "it": "Personalizza questa visita",
        "nl": "Dit bezoek afstemmen",
        "pl": "Dopasowanie tej wizyty",
        "pt": "Adaptar esta visita",
    },
    "personalisation": {
        "en": "Remember my preferences",
        "de": "Meine Vorlieben merken",
        "fr": "Mémoriser mes préférences",
        "es": "Recordar mis preferencias",
        "it": "Ricorda le mie preferenze",
        "nl": "Mijn voorkeuren onthouden",
        "pl": "Zapamiętywanie moich preferencji",
        "pt": "Lembrar as minhas preferências",
    },
    "analytics": {
        "en": "Measure how the shop is used",
        "de": "Messen, wie der Shop genutzt wird",
        "fr": "Mesurer l’utilisation de la boutique",
        "es": "Medir cómo se usa la tienda",
        "it": "Misura come viene usato il negozio",
        "nl": "Meten hoe de winkel wordt gebruikt",
        "pl": "Pomiar korzystania ze sklepu",
        "pt": "Medir como a loja é usada",
    },
    "marketing": {
        "en": "Personalised offers and advertising",
        "de": "Personalisierte Angebote und Werbung",
        "fr": "Offres et publicités personnalisées",
        "es": "Ofertas y publicidad personalizadas",
        "it": "Offerte e pubblicità personalizzate",
        "nl": "Gepersonaliseerde aanbiedingen en advertenties",
        "pl": "Spersonalizowane oferty i reklamy",
        "pt": "Ofertas e publicidade personalizadas",
    },
}

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "necessary": {
        "en": "Keeps your basket, keeps the shop secure and remembers these choices. Always on.",
        "de": "Bewahrt Ihren Warenkorb, hält den Shop sicher und merkt sich diese Auswahl. "
        "Immer eingeschaltet.",
        "fr": "Conserve votre panier, sécurise la boutique et mémorise ces choix. Toujours activé.",
        "es": "Guarda tu cesta, mantiene la tienda segura y recuerda estas opciones. "
        "Siempre activado.",
        "it": "Conserva il tuo carrello, mantiene sicuro il negozio e ricorda queste scelte. "
        "Sempre attivo.",
        "nl": "Bewaart uw winkelmandje, houdt de winkel veilig en onthoudt deze keuzes. "
        "Altijd aan.",
        "pl": "Przechowuje Twój koszyk, dba o bezpieczeństwo sklepu i zapamiętuje te wybory. "
        "Zawsze włączone.",
        "pt": "Guarda o seu cesto, mantém a loja segura e memoriza estas escolhas. Sempre ativo.",
    },
    "session_personalisation": {
        "en": "Suggest products from what you look at during this visit. Forgotten when you leave.",
        "de": "Produkte vorschlagen anhand dessen, was Sie sich bei diesem Besuch ansehen. "
        "Wird vergessen, wenn Sie gehen.",
        "fr": "Suggérer des produits d’après ce que vous regardez pendant cette visite. "
        "Oublié à votre départ.",
        "es": "Sugerir productos según lo que miras durante esta visita. Se olvida cuando te vas.",
        "it": "Suggerire prodotti in base a ciò che guardi durante questa visita. "
        "Dimenticato quando te ne vai.",
        "nl": "Producten voorstellen op basis van wat u tijdens dit bezoek bekijkt. "
        "Vergeten zodra u vertrekt.",
        "pl": "Proponowanie produktów na podstawie tego, co oglądasz podczas tej wizyty. "
        "Zapominane, gdy wychodzisz.",
        "pt": "Sugerir produtos a partir do que vê durante esta visita. Esquecido quando sai.",
    },
    "personalisation": {
        "en": "Use the preferences you tell us and what you viewed on earlier visits to suggest "
        "products across visits. Includes tailoring this visit.",
        "de": "Die Vorlieben, die Sie uns nennen, und was Sie bei früheren Besuchen angesehen "
        "haben, nutzen, um über Besuche hinweg Produkte vorzuschlagen. Schließt das Anpassen "
        "dieses Besuchs ein.",
        "fr": "Utiliser les préférences que vous nous indiquez et ce que vous avez consulté lors "
        "de visites précédentes pour suggérer des produits d’une visite à l’autre. Comprend "
        "l’adaptation de cette visite.",
        "es": "Usar las preferencias que nos indicas y lo que viste en visitas anteriores para "
        "sugerirte productos de una visita a otra. Incluye adaptar esta visita.",
        "it": "Usare le preferenze che ci indichi e ciò che hai visto nelle visite precedenti "
        "per suggerirti prodotti da una visita all’altra. Include la personalizzazione di "
        "questa visita.",
        "nl": "De voorkeuren die u ons geeft en wat u bij eerdere bezoeken hebt bekeken "
        "gebruiken om producten voor te stellen, van bezoek tot bezoek. Inclusief het "
        "afstemmen van dit bezoek.",
        "pl": "Wykorzystywanie preferencji, które nam podajesz, i tego, co było oglądane "
        "podczas wcześniejszych wizyt, do proponowania produktów przy kolejnych wizytach. "
        "Obejmuje dopasowanie tej wizyty.",
        "pt": "Usar as preferências que nos indica e o que viu em visitas anteriores para "
        "sugerir produtos de uma visita para a outra. Inclui adaptar esta visita.",
    },
    "analytics": {
        "en": "Count visits and clicks so we can improve the shop. "
        "Never used to pick what you see.",
        "de": "Besuche und Klicks zählen, damit wir den Shop verbessern können. Nie dafür "
        "verwendet, auszuwählen, was Sie sehen.",
        "fr": "Compter les visites et les clics pour améliorer la boutique. Jamais utilisé pour "
        "choisir ce que vous voyez.",
        "es": "Contar visitas y clics para poder mejorar la tienda. "
        "Nunca se usa para elegir lo que ves.",
        "it": "Contare visite e clic per migliorare il negozio. "
        "Mai usato per scegliere ciò che vedi.",
        "nl": "Bezoeken en klikken tellen zodat we de winkel kunnen verbeteren. Nooit gebruikt "
        "om te kiezen wat u ziet.",
        "pl": "Liczenie odwiedzin i kliknięć, abyśmy mogli ulepszać sklep. Nigdy nie służy do "
        "wybierania tego, co widzisz.",
        "pt": "Contar visitas e cliques para podermos melhorar a loja. "
        "Nunca usado para escolher o que vê.",
    },
    "marketing": {
        "en": "Show offers and adverts chosen for you, here and on other sites. "
        "Always off when your browser sends Global Privacy Control.",
        "de": "Für Sie ausgewählte Angebote und Werbung zeigen, hier und auf anderen Websites. "
        "Immer ausgeschaltet, wenn Ihr Browser Global Privacy Control sendet.",
        "fr": "Afficher des offres et des publicités choisies pour vous, ici et sur d’autres "
        "sites. Toujours désactivé lorsque votre navigateur envoie Global Privacy Control.",
        "es": "Mostrar ofertas y anuncios elegidos para ti, aquí y en otros sitios. Siempre "
        "desactivado cuando tu navegador envía Global Privacy Control.",
        "it": "Mostrare offerte e annunci scelti per te, qui e su altri siti. Sempre "
        "disattivato quando il tuo browser invia Global Privacy Control.",
        "nl": "Aanbiedingen en advertenties tonen die voor u zijn gekozen, hier en op andere "
        "websites. Altijd uit wanneer uw browser Global Privacy Control verstuurt.",
        "pl": "Wyświetlanie ofert i reklam dobranych dla Ciebie, tutaj i na innych stronach. "
        "Zawsze wyłączone, gdy Twoja przeglądarka wysyła Global Privacy Control.",
        "pt": "Mostrar ofertas e anúncios escolhidos para si, aqui e noutros sites. Sempre "
        "desativado quando o seu navegador envia Global Privacy Control.",
    },
}
