//! The portal's strings, in English and French, overridable per segment.
//!
//! A typed catalogue rather than Fluent files: every key is a `&'static str` listed once in
//! [`CATALOGUE`] with both translations side by side, so a missing translation is a
//! compile-time-visible gap and a unit test checks no key is left untranslated or listed
//! twice. Lookup order: the segment's override for the page language (stored in
//! `portal_texts`), then the built-in string. An unknown key renders as itself (and fails
//! the `templates_use_known_keys` test), never as a panic.
//!
//! Placeholders are `{name}` and are filled by [`Texts::fmt`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use abo_core::Locale;

/// `(key, English, French)`.
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    // Layout and navigation.
    ("portal.title", "Customer portal", "Espace client"),
    (
        "nav.label",
        "Portal sections",
        "Sections de l’espace client",
    ),
    ("nav.subscriptions", "Subscriptions", "Abonnements"),
    ("nav.invoices", "Invoices", "Factures"),
    (
        "nav.billing",
        "Billing information",
        "Informations de facturation",
    ),
    ("nav.payment", "Payment method", "Moyen de paiement"),
    ("nav.offers", "Offers", "Offres"),
    ("skip.content", "Skip to content", "Aller au contenu"),
    ("logo.alt", "Logo", "Logo"),
    // Errors.
    (
        "error.title",
        "This page cannot be opened",
        "Cette page ne peut pas être ouverte",
    ),
    (
        "error.expired.title",
        "This link has expired",
        "Ce lien a expiré",
    ),
    (
        "error.expired.text",
        "For your security, links to this page are only valid for a limited time. Please open the page again from the website or the e-mail you came from.",
        "Pour votre sécurité, les liens vers cette page ne sont valables que pendant une durée limitée. Veuillez rouvrir la page depuis le site ou l’e-mail d’où vous venez.",
    ),
    (
        "error.invalid.title",
        "This link is not valid",
        "Ce lien n’est pas valide",
    ),
    (
        "error.invalid.text",
        "The link is incomplete or has been altered. Please use the link exactly as you received it.",
        "Le lien est incomplet ou a été modifié. Veuillez utiliser le lien tel que vous l’avez reçu.",
    ),
    (
        "error.revoked.title",
        "This link has been revoked",
        "Ce lien a été révoqué",
    ),
    (
        "error.revoked.text",
        "This link is no longer active. Please open the page again from the website to get a new one.",
        "Ce lien n’est plus actif. Veuillez rouvrir la page depuis le site pour en obtenir un nouveau.",
    ),
    (
        "error.suspended.title",
        "Access suspended",
        "Accès suspendu",
    ),
    (
        "error.suspended.text",
        "Access to this account is suspended. Please contact the merchant.",
        "L’accès à ce compte est suspendu. Veuillez contacter le marchand.",
    ),
    (
        "error.session.title",
        "Your session has ended",
        "Votre session a expiré",
    ),
    (
        "error.session.text",
        "You were inactive for too long. Please open the page again from the website.",
        "Vous êtes resté inactif trop longtemps. Veuillez rouvrir la page depuis le site.",
    ),
    (
        "error.csrf.title",
        "The form has expired",
        "Le formulaire a expiré",
    ),
    (
        "error.csrf.text",
        "The form could not be verified. Please go back, reload the page and try again.",
        "Le formulaire n’a pas pu être vérifié. Veuillez revenir en arrière, recharger la page et réessayer.",
    ),
    ("error.notfound.title", "Not found", "Introuvable"),
    (
        "error.notfound.text",
        "What you are looking for does not exist or is not yours.",
        "L’élément demandé n’existe pas ou ne vous appartient pas.",
    ),
    (
        "error.internal.title",
        "Something went wrong",
        "Une erreur est survenue",
    ),
    (
        "error.internal.text",
        "Please try again in a moment.",
        "Veuillez réessayer dans un instant.",
    ),
    (
        "error.back",
        "Back to the portal",
        "Retour à l’espace client",
    ),
    // Subscriptions.
    ("subs.title", "Your subscriptions", "Vos abonnements"),
    (
        "subs.none",
        "You have no subscription yet.",
        "Vous n’avez pas encore d’abonnement.",
    ),
    ("subs.details", "Details", "Détails"),
    ("subs.state", "Status", "Statut"),
    ("subs.price", "Price", "Prix"),
    ("subs.started", "Started on", "Commencé le"),
    ("subs.period", "Current period", "Période en cours"),
    ("subs.next_billing", "Next billing", "Prochaine facturation"),
    ("subs.renews", "Renews on", "Renouvellement le"),
    ("subs.ends", "Ends on", "Se termine le"),
    ("subs.ended", "Ended on", "Terminé le"),
    ("subs.trial", "Trial until", "Essai jusqu’au"),
    ("subs.engaged", "Commitment until", "Engagement jusqu’au"),
    ("subs.features", "Included", "Inclus"),
    ("subs.unlimited", "unlimited", "illimité"),
    (
        "subs.scheduled_termination",
        "Termination scheduled on {date}.",
        "Résiliation programmée le {date}.",
    ),
    (
        "subs.scheduled_change",
        "Change of plan scheduled on {date}.",
        "Changement d’offre programmé le {date}.",
    ),
    (
        "subs.scheduled_suspension",
        "Suspension scheduled on {date}.",
        "Suspension programmée le {date}.",
    ),
    ("subs.change_plan", "Change plan", "Changer d’offre"),
    (
        "subs.change_options",
        "Change options",
        "Modifier les options",
    ),
    ("subs.terminate", "Terminate", "Résilier"),
    ("subs.restart", "Restart", "Réactiver"),
    ("subs.choose_offer", "Choose an offer", "Choisir une offre"),
    (
        "subs.cancel_termination",
        "Cancel the termination",
        "Annuler la résiliation",
    ),
    ("subs.back", "All subscriptions", "Tous les abonnements"),
    ("state.Active", "Active", "Actif"),
    ("state.Draft", "Not started", "Non démarré"),
    ("state.Suspended", "Suspended", "Suspendu"),
    ("state.Ended", "Ended", "Terminé"),
    ("state.Deleted", "Deleted", "Supprimé"),
    // Termination.
    (
        "term.title",
        "Terminate the subscription",
        "Résilier l’abonnement",
    ),
    (
        "term.at_term",
        "Your subscription will end on {date}, at the end of the current period. You keep access until then and can cancel the termination before that date.",
        "Votre abonnement prendra fin le {date}, à la fin de la période en cours. Vous en gardez l’accès jusque-là et pouvez annuler la résiliation avant cette date.",
    ),
    (
        "term.engaged",
        "You are committed until {date}: the subscription can only be terminated at the end of the commitment.",
        "Vous êtes engagé jusqu’au {date} : l’abonnement ne peut être résilié qu’à la fin de l’engagement.",
    ),
    (
        "term.fee",
        "Early termination fee: {amount}.",
        "Frais de résiliation anticipée : {amount}.",
    ),
    (
        "term.confirm",
        "Confirm the termination",
        "Confirmer la résiliation",
    ),
    ("term.keep", "Keep my subscription", "Garder mon abonnement"),
    (
        "term.done",
        "Your subscription will end on {date}.",
        "Votre abonnement prendra fin le {date}.",
    ),
    (
        "subs.terminate_done",
        "Your termination has been recorded.",
        "Votre résiliation a été enregistrée.",
    ),
    (
        "term.cancelled",
        "The termination has been cancelled.",
        "La résiliation a été annulée.",
    ),
    (
        "term.not_allowed",
        "This subscription cannot be terminated now.",
        "Cet abonnement ne peut pas être résilié maintenant.",
    ),
    // Offers.
    ("offers.title", "Our offers", "Nos offres"),
    (
        "offers.none",
        "No offer is available at the moment.",
        "Aucune offre n’est disponible pour le moment.",
    ),
    ("offers.choose", "Choose", "Choisir"),
    ("offers.trial", "Free trial", "Essai gratuit"),
    ("offers.setup_fee", "Setup fee", "Frais de mise en service"),
    // Invoices.
    ("inv.title", "Your invoices", "Vos factures"),
    (
        "inv.none",
        "You have no invoice yet.",
        "Vous n’avez pas encore de facture.",
    ),
    ("inv.number", "Number", "Numéro"),
    ("inv.date", "Date", "Date"),
    ("inv.amount", "Amount", "Montant"),
    ("inv.status", "Status", "Statut"),
    ("inv.actions", "Actions", "Actions"),
    ("inv.download", "Download PDF", "Télécharger le PDF"),
    (
        "inv.download_label",
        "Download invoice {number} (PDF)",
        "Télécharger la facture {number} (PDF)",
    ),
    ("inv.pay", "Pay", "Payer"),
    ("inv.credit_note", "Credit note", "Avoir"),
    ("inv.status.Paid", "Paid", "Payée"),
    ("inv.status.Due", "Due", "À payer"),
    ("inv.status.Problem", "Payment failed", "Paiement échoué"),
    (
        "inv.status.Pending",
        "Payment in progress",
        "Paiement en cours",
    ),
    ("inv.status.Cancelled", "Cancelled", "Annulée"),
    ("inv.status.Refunded", "Refunded", "Remboursée"),
    ("inv.status.Draft", "Draft", "Brouillon"),
    // Billing information.
    (
        "bill.title",
        "Billing information",
        "Informations de facturation",
    ),
    ("bill.kind", "I am", "Je suis"),
    ("bill.kind.person", "an individual", "un particulier"),
    ("bill.kind.company", "a company", "une entreprise"),
    ("bill.company", "Company name", "Raison sociale"),
    ("bill.first_name", "First name", "Prénom"),
    ("bill.last_name", "Last name", "Nom"),
    ("bill.address1", "Address", "Adresse"),
    (
        "bill.address2",
        "Address (continued)",
        "Complément d’adresse",
    ),
    ("bill.zip", "Postal code", "Code postal"),
    ("bill.city", "City", "Ville"),
    (
        "bill.country",
        "Country (2-letter code, e.g. FR)",
        "Pays (code à 2 lettres, ex. FR)",
    ),
    ("bill.region", "Region (US, CA, ES)", "Région (US, CA, ES)"),
    ("bill.phone", "Phone", "Téléphone"),
    ("bill.vat", "VAT number", "Numéro de TVA"),
    (
        "bill.vat_hint",
        "EU companies: e.g. FR40303265045",
        "Entreprises de l’UE : ex. FR40303265045",
    ),
    (
        "bill.email",
        "E-mail for invoices",
        "E-mail de réception des factures",
    ),
    ("bill.save", "Save", "Enregistrer"),
    (
        "bill.saved",
        "Your billing information has been saved.",
        "Vos informations de facturation ont été enregistrées.",
    ),
    (
        "form.errors",
        "Please correct the following:",
        "Veuillez corriger les points suivants :",
    ),
    ("form.optional", "optional", "facultatif"),
    // Payment method.
    ("pay.title", "Payment method", "Moyen de paiement"),
    (
        "pay.none",
        "No payment method is registered.",
        "Aucun moyen de paiement n’est enregistré.",
    ),
    ("pay.card", "Card", "Carte"),
    ("pay.card_expires", "expires {date}", "expire fin {date}"),
    ("pay.sepa", "SEPA direct debit", "Prélèvement SEPA"),
    ("pay.mandate", "Mandate {reference}", "Mandat {reference}"),
    ("pay.add_card", "Register a card", "Enregistrer une carte"),
    (
        "pay.change_card",
        "Use another card",
        "Utiliser une autre carte",
    ),
    (
        "pay.add_sepa",
        "Set up a SEPA direct debit",
        "Mettre en place un prélèvement SEPA",
    ),
    ("pay.card_number", "Card number", "Numéro de carte"),
    (
        "pay.expiry",
        "Expiry date (MM/YY)",
        "Date d’expiration (MM/AA)",
    ),
    ("pay.cvc", "Security code (CVC)", "Cryptogramme (CVC)"),
    ("pay.iban", "IBAN", "IBAN"),
    ("pay.holder", "Account holder", "Titulaire du compte"),
    (
        "pay.mandate_text",
        "By signing this mandate, I authorise {merchant} to send instructions to my bank to debit my account, and my bank to debit my account in accordance with those instructions. I am entitled to a refund from my bank within 8 weeks of a debit.",
        "En signant ce mandat, j’autorise {merchant} à envoyer des instructions à ma banque pour débiter mon compte, et ma banque à débiter mon compte conformément à ces instructions. Je bénéficie d’un droit à remboursement par ma banque dans les 8 semaines suivant un prélèvement.",
    ),
    (
        "pay.accept_mandate",
        "I accept the SEPA direct debit mandate",
        "J’accepte le mandat de prélèvement SEPA",
    ),
    (
        "pay.submit_card",
        "Register the card",
        "Enregistrer la carte",
    ),
    ("pay.submit_sepa", "Sign the mandate", "Signer le mandat"),
    (
        "pay.registered",
        "Your payment method has been registered.",
        "Votre moyen de paiement a été enregistré.",
    ),
    (
        "pay.declined",
        "The payment method was declined. Please check the details or use another one.",
        "Le moyen de paiement a été refusé. Vérifiez les informations ou utilisez-en un autre.",
    ),
    (
        "pay.invalid",
        "The details are not valid: {detail}",
        "Les informations ne sont pas valides : {detail}",
    ),
    (
        "pay.greylisted",
        "You are not allowed to access the payment forms",
        "Vous n’êtes pas autorisé à accéder aux formulaires de paiement",
    ),
    (
        "pay.sandbox",
        "Test mode: no real payment is made.",
        "Mode test : aucun paiement réel n’est effectué.",
    ),
    (
        "pay.pending_3ds",
        "Waiting for 3-D Secure authentication.",
        "En attente de l’authentification 3-D Secure.",
    ),
    // 3-D Secure sandbox challenge.
    (
        "tds.title",
        "3-D Secure authentication",
        "Authentification 3-D Secure",
    ),
    (
        "tds.text",
        "Test bank: confirm that you authorise this card. In real life, your bank would ask for a code or a confirmation in its app.",
        "Banque de test : confirmez que vous autorisez cette carte. En réalité, votre banque vous demanderait un code ou une confirmation dans son application.",
    ),
    ("tds.approve", "Authenticate", "S’authentifier"),
    ("tds.refuse", "Refuse", "Refuser"),
    (
        "tds.failed",
        "The authentication failed. The card was not registered.",
        "L’authentification a échoué. La carte n’a pas été enregistrée.",
    ), // Customer workflows (workflows session: portal/workflows, templates/workflows).
    ("wf.back", "Back to my account", "Retour à mon compte"),
    ("wf.period", "{from} to {to}", "du {from} au {to}"),
    (
        "wf.quote.title",
        "What you will pay",
        "Ce que vous allez payer",
    ),
    (
        "wf.quote.nothing",
        "Nothing is charged for this change.",
        "Ce changement n’est pas facturé.",
    ),
    ("wf.quote.line", "Item", "Élément"),
    ("wf.quote.when", "Period", "Période"),
    ("wf.quote.amount", "Amount excl. tax", "Montant HT"),
    ("wf.quote.subtotal", "Total excl. tax", "Total HT"),
    ("wf.quote.tax", "VAT ({rate} %)", "TVA ({rate} %)"),
    ("wf.quote.total", "Total incl. tax", "Total TTC"),
    ("wf.quote.due", "Due now:", "À payer maintenant :"),
    (
        "wf.quote.next",
        "Then, at each renewal:",
        "Ensuite, à chaque renouvellement :",
    ),
    (
        "wf.quote.next_on",
        "Next renewal on {date}:",
        "Prochain renouvellement le {date} :",
    ),
    ("wf.line.upfront", "Set-up fee", "Frais de mise en service"),
    ("wf.line.trial", "Trial period", "Période d’essai"),
    (
        "wf.line.trial_refund",
        "Refund of the unused trial",
        "Remboursement de l’essai non utilisé",
    ),
    (
        "wf.line.trial_prorata",
        "Trial period, prorated",
        "Période d’essai, au prorata",
    ),
    ("wf.line.recurrence", "Subscription", "Abonnement"),
    (
        "wf.line.refund",
        "Refund of the unused period of your current plan",
        "Remboursement de la période non utilisée de votre formule actuelle",
    ),
    (
        "wf.line.prorata",
        "New plan, prorated until your renewal date",
        "Nouvelle formule, au prorata jusqu’à votre date de renouvellement",
    ),
    (
        "wf.line.termination",
        "Termination fee",
        "Frais de résiliation",
    ),
    (
        "wf.line.feature",
        "Options and extra units",
        "Options et unités supplémentaires",
    ),
    ("wf.line.discount", "Discount", "Remise"),
    ("wf.line.other", "Other", "Autre"),
    ("wf.pay_step.title", "Payment", "Paiement"),
    (
        "wf.pay_step.nothing",
        "Nothing to pay now.",
        "Rien à payer maintenant.",
    ),
    (
        "wf.pay_step.register",
        "To continue, register a payment method. You will come back here to confirm.",
        "Pour continuer, enregistrez un moyen de paiement. Vous reviendrez ici pour confirmer.",
    ),
    (
        "wf.pay_step.card",
        "The amount due will be charged now to your card",
        "Le montant dû sera prélevé maintenant sur votre carte",
    ),
    (
        "wf.pay_step.sepa",
        "The amount due will be debited from your account after a prior notice, by SEPA direct debit",
        "Le montant dû sera prélevé sur votre compte après notification préalable, par prélèvement SEPA",
    ),
    (
        "wf.pay_step.offline",
        "You will receive an invoice, payable by bank transfer.",
        "Vous recevrez une facture, payable par virement.",
    ),
    (
        "wf.plans.title",
        "Choose your plan",
        "Choisissez votre formule",
    ),
    ("wf.plans.switcher", "Billing period", "Périodicité"),
    ("wf.subscribe.title", "Subscribe", "Souscrire"),
    (
        "wf.subscribe.confirm",
        "Confirm my subscription",
        "Confirmer ma souscription",
    ),
    (
        "wf.subscribe.pay",
        "Subscribe and pay",
        "Souscrire et payer",
    ),
    (
        "wf.custom.title",
        "Your personalised subscription",
        "Votre abonnement personnalisé",
    ),
    (
        "wf.custom.started",
        "This subscription has already started.",
        "Cet abonnement a déjà commencé.",
    ),
    ("wf.change.title", "Change plan", "Changer de formule"),
    (
        "wf.change.choose",
        "Choose your new plan",
        "Choisissez votre nouvelle formule",
    ),
    (
        "wf.change.summary",
        "From {from} to {to}",
        "De {from} à {to}",
    ),
    (
        "wf.change.confirm",
        "Confirm the change",
        "Confirmer le changement",
    ),
    ("wf.change.pay", "Change and pay", "Changer et payer"),
    (
        "wf.change.engaged",
        "Your subscription is within its commitment period: the plan cannot be changed yet.",
        "Votre abonnement est en période d’engagement : la formule ne peut pas encore être changée.",
    ),
    (
        "wf.change.not_now",
        "The plan of this subscription cannot be changed now.",
        "La formule de cet abonnement ne peut pas être changée maintenant.",
    ),
    (
        "wf.restart.title",
        "Restart my subscription",
        "Reprendre mon abonnement",
    ),
    ("wf.restart.confirm", "Restart", "Reprendre"),
    ("wf.restart.pay", "Restart and pay", "Reprendre et payer"),
    (
        "wf.restart.not_suspended",
        "This subscription is not suspended.",
        "Cet abonnement n’est pas suspendu.",
    ),
    ("wf.options.title", "Change options", "Modifier les options"),
    (
        "wf.options.none",
        "This subscription has no option you can change.",
        "Cet abonnement n’a pas d’option modifiable.",
    ),
    ("wf.options.included", "{count} included", "{count} inclus"),
    (
        "wf.options.extra",
        "{price} per extra unit",
        "{price} par unité supplémentaire",
    ),
    ("wf.options.preview", "See the price", "Voir le prix"),
    (
        "wf.options.confirm",
        "Confirm the changes",
        "Confirmer les modifications",
    ),
    ("wf.options.pay", "Confirm and pay", "Confirmer et payer"),
    (
        "wf.options.refused",
        "These options cannot be changed now.",
        "Ces options ne peuvent pas être modifiées maintenant.",
    ),
    ("wf.pay.title", "Pay an invoice", "Payer une facture"),
    ("wf.pay.summary", "Invoice {number}", "Facture {number}"),
    ("wf.pay.confirm", "Pay now", "Payer maintenant"),
    (
        "wf.pay.nothing_due",
        "This invoice has nothing left to pay.",
        "Cette facture n’a plus rien à payer.",
    ),
    (
        "wf.pay.pending",
        "A payment of this invoice is being processed.",
        "Un paiement de cette facture est en cours de traitement.",
    ),
    (
        "wf.pay.offline",
        "This invoice is payable by bank transfer, as stated on it.",
        "Cette facture est payable par virement, comme indiqué sur celle-ci.",
    ),
    (
        "wf.register.title",
        "Your billing information",
        "Vos informations de facturation",
    ),
    (
        "wf.register.intro",
        "These details appear on your invoices.",
        "Ces informations figurent sur vos factures.",
    ),
    ("wf.register.next", "Continue", "Continuer"),
    (
        "wf.register.method",
        "Your payment method",
        "Votre moyen de paiement",
    ),
    ("wf.register.current", "Registered:", "Enregistré :"),
    ("wf.register.continue", "Continue", "Continuer"),
    ("wf.done.title", "Thank you", "Merci"),
    (
        "wf.done.paid",
        "Your payment has been received. Your subscription is up to date.",
        "Votre paiement a bien été reçu. Votre abonnement est à jour.",
    ),
    (
        "wf.done.pending",
        "Your payment is being processed. You will receive a confirmation.",
        "Votre paiement est en cours de traitement. Vous recevrez une confirmation.",
    ),
    (
        "wf.done.registered",
        "Your payment method has been registered.",
        "Votre moyen de paiement a été enregistré.",
    ),
    (
        "wf.done.due",
        "Your change is done. An invoice is waiting for your payment.",
        "Votre changement est effectué. Une facture est en attente de paiement.",
    ),
    (
        "wf.done.nocharge",
        "Your change is done. Nothing was charged.",
        "Votre changement est effectué. Rien n’a été facturé.",
    ),
    (
        "wf.done.declined",
        "The payment was declined. You can pay the invoice from your account.",
        "Le paiement a été refusé. Vous pouvez payer la facture depuis votre compte.",
    ),
    ("wf.done.home", "My account", "Mon compte"),
];

/// The built-in strings of one language.
fn builtin(locale: Locale) -> &'static HashMap<&'static str, &'static str> {
    static EN: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    static FR: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    match locale {
        Locale::En => EN.get_or_init(|| CATALOGUE.iter().map(|(k, en, _)| (*k, *en)).collect()),
        Locale::Fr => FR.get_or_init(|| CATALOGUE.iter().map(|(k, _, fr)| (*k, *fr)).collect()),
    }
}

/// Whether `key` is a string of the catalogue (overrides of unknown keys are refused).
pub fn is_known_key(key: &str) -> bool {
    builtin(Locale::En).contains_key(key)
}

/// The strings of one page: a language and the segment's overrides for it.
#[derive(Clone)]
pub struct Texts {
    pub locale: Locale,
    overrides: Arc<HashMap<String, String>>,
}

impl Texts {
    pub fn new(locale: Locale, overrides: Arc<HashMap<String, String>>) -> Texts {
        Texts { locale, overrides }
    }

    /// Built-in strings only.
    pub fn builtin(locale: Locale) -> Texts {
        Texts {
            locale,
            overrides: Arc::default(),
        }
    }

    /// The string for `key`.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        if let Some(v) = self.overrides.get(key) {
            return v;
        }
        builtin(self.locale).get(key).copied().unwrap_or(key)
    }

    /// The string for `key` with `{name}` placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.get(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// The page language: the customer's, then the segment's, then the business's, then English.
pub fn choose_locale(
    customer: Option<&str>,
    segment: Option<&str>,
    business: Option<&str>,
) -> Locale {
    [customer, segment, business]
        .into_iter()
        .flatten()
        .find_map(Locale::parse)
        .unwrap_or(Locale::En)
}

/// A language from an `Accept-Language` header (for pages shown before the customer is
/// known): the first of English or French it lists, else English.
pub fn from_accept_language(header: Option<&str>) -> Locale {
    header
        .into_iter()
        .flat_map(|h| h.split(','))
        .find_map(|part| Locale::parse(part.split(';').next().unwrap_or("")))
        .unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (key, en, fr) in CATALOGUE {
            assert!(seen.insert(*key), "{key} listed twice");
            assert!(!en.trim().is_empty() && !fr.trim().is_empty(), "{key}");
            // Placeholders must match between languages.
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(fr), "{key}");
        }
    }

    #[test]
    fn templates_use_known_keys() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let paths = ["portal", "workflows"]
            .iter()
            .filter_map(|d| std::fs::read_dir(format!("{root}/{d}")).ok())
            .flatten()
            .map(|e| e.unwrap().path());
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            for call in [".t(\"", ".tf(\""] {
                for part in text.split(call).skip(1) {
                    let key = part.split('"').next().unwrap();
                    assert!(is_known_key(key), "{}: unknown key {key}", path.display());
                }
            }
        }
    }

    #[test]
    fn overrides_win_and_placeholders_fill() {
        let mut o = HashMap::new();
        o.insert("nav.invoices".to_owned(), "Mes factures".to_owned());
        let t = Texts::new(Locale::Fr, Arc::new(o));
        assert_eq!(t.get("nav.invoices"), "Mes factures");
        assert_eq!(t.get("nav.billing"), "Informations de facturation");
        assert_eq!(
            t.fmt("term.done", &[("date", "30 novembre 2026")]),
            "Votre abonnement prendra fin le 30 novembre 2026."
        );
        assert_eq!(t.get("no.such.key"), "no.such.key");
    }

    #[test]
    fn locale_fallbacks() {
        assert_eq!(
            choose_locale(Some("de"), Some("fr-FR"), Some("en")),
            Locale::Fr
        );
        assert_eq!(choose_locale(None, None, Some("fr")), Locale::Fr);
        assert_eq!(choose_locale(None, None, None), Locale::En);
        assert_eq!(
            from_accept_language(Some("de-DE,fr;q=0.8,en;q=0.5")),
            Locale::Fr
        );
    }
}
