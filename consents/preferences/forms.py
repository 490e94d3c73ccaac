"""One checkbox per purpose. A ticked box grants, or, on the opt-out page, refuses."""

from django import forms

from consents.models import Purpose


class PurposeChoicesForm(forms.Form):
    def __init__(
        self,
        *args,
        purposes: list[Purpose],
        allowed: dict[str, bool],
        ticked_refuses: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.purposes = purposes
        self.ticked_refuses = ticked_refuses
        for purpose in purposes:
            self.fields[self.field_name(purpose.key)] = forms.BooleanField(
                required=False,
                label=purpose.name,
                help_text=purpose.description,
                initial=allowed.get(purpose.key, False) != ticked_refuses,
            )

    @staticmethod
    def field_name(key: str) -> str:
        return f"purpose_{key}"

    def wanted(self) -> dict[str, bool]:
        """purpose key → granted, from the submitted boxes."""
        return {
            purpose.key: bool(self.cleaned_data[self.field_name(purpose.key)])
            != self.ticked_refuses
            for purpose in self.purposes
        }

    def rows(self):
        """(purpose, bound field) pairs, for templates that lay out each choice themselves."""
        return [(purpose, self[self.field_name(purpose.key)]) for purpose in self.purposes]
