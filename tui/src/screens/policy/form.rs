//! The add-binding form: principal, role and/or actions (and, for the gateway policy, allow
//! or deny), with the fields the document can express.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::doc::{KeyKind, NewGrant};
use super::textarea::Field;

/// A form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    /// Who.
    Principal,
    /// A role.
    Role,
    /// Actions, comma separated.
    Actions,
    /// Allow or deny (gateway policy).
    Effect,
}

/// The add form's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddForm {
    /// The fields this document can express, in order.
    pub fields: Vec<FieldId>,
    /// The focused field (index into `fields`).
    pub focus: usize,
    /// Principal.
    pub principal: Field,
    /// Role.
    pub role: Field,
    /// Actions.
    pub actions: Field,
    /// Deny rather than allow (gateway).
    pub deny: bool,
    /// Roles to suggest (gateway: built-in and custom).
    pub roles: Vec<String>,
    /// Why the last submit was refused; the values stay.
    pub error: Option<String>,
}

impl AddForm {
    /// A form for the gateway policy (`None`) or a key policy of `kind`.
    pub fn new(kind: Option<KeyKind>, roles: Vec<String>) -> Self {
        use FieldId::*;
        let fields = match kind {
            None => vec![Principal, Role, Actions, Effect],
            Some(KeyKind::Aws) => vec![Principal, Actions],
            Some(KeyKind::Gcp) => vec![Principal, Role],
            Some(_) => vec![Principal, Role, Actions],
        };
        Self {
            fields,
            focus: 0,
            principal: Field::default(),
            role: Field::default(),
            actions: Field::default(),
            deny: false,
            roles,
            error: None,
        }
    }

    /// The focused field.
    pub fn focused(&self) -> FieldId {
        self.fields
            .get(self.focus)
            .copied()
            .unwrap_or(FieldId::Principal)
    }

    /// Moves the focus or edits the focused field.
    pub fn input(&mut self, key: KeyEvent) {
        let n = self.fields.len();
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ => match self.focused() {
                FieldId::Principal => _ = self.principal.input(key),
                FieldId::Role => _ = self.role.input(key),
                FieldId::Actions => _ = self.actions.input(key),
                FieldId::Effect => {
                    if matches!(
                        key.code,
                        KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                    ) {
                        self.deny = !self.deny;
                    }
                }
            },
        }
    }

    /// The grant typed so far; actions are split on commas and spaces.
    pub fn grant(&self) -> NewGrant {
        NewGrant {
            principal: self.principal.value().trim().to_owned(),
            role: self.role.value().trim().to_owned(),
            actions: self
                .actions
                .value()
                .split([',', ' '])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            deny: self.deny,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn fields_follow_the_document_and_values_split() {
        assert_eq!(
            AddForm::new(Some(KeyKind::Aws), Vec::new()).fields,
            [FieldId::Principal, FieldId::Actions]
        );
        let mut f = AddForm::new(None, vec!["admin".into()]);
        for c in "ci-*".chars() {
            f.input(k(KeyCode::Char(c)));
        }
        f.input(k(KeyCode::Tab));
        f.input(k(KeyCode::Tab));
        for c in "crypto:decrypt, keys:list".chars() {
            f.input(k(KeyCode::Char(c)));
        }
        f.input(k(KeyCode::Down));
        assert_eq!(f.focused(), FieldId::Effect);
        f.input(k(KeyCode::Char(' ')));
        f.input(k(KeyCode::Tab));
        assert_eq!(f.focused(), FieldId::Principal, "focus wraps");
        let g = f.grant();
        assert_eq!(g.principal, "ci-*");
        assert_eq!(g.actions, ["crypto:decrypt", "keys:list"]);
        assert!(g.deny && g.role.is_empty());
    }
}
