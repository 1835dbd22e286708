'use strict';
// Autocomplete list filters: choosing a row reloads the list with it as the filter value.
// admin/js/autocomplete.js turns the selects into select2 boxes; this only reacts to them.
{
    const $ = django.jQuery;

    $(function() {
        $('select.kartra-filter-select').on('change', function() {
            const url = new URL(window.location.href);
            const parameter = this.dataset.filterParameter;
            if (this.value) {
                url.searchParams.set(parameter, this.value);
            } else {
                url.searchParams.delete(parameter);
            }
            // A parameter that belongs to the old choice (a custom field's value).
            if (this.dataset.filterClears) {
                url.searchParams.delete(this.dataset.filterClears);
            }
            url.searchParams.delete('p');
            window.location.assign(url.toString());
        });
    });
}
