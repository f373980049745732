package templates

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // icons may be GIF, JPEG or PNG
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-social/hearth/storage"
)

const (
	// maxIconBytes and maxIconSide bound an uploaded icon.
	maxIconBytes = 1 << 20
	maxIconSide  = 4096
	// maxInstanceName and maxDescription bound the home page's text.
	maxInstanceName = 100
	maxDescription  = 2000
)

// iconTypes are the images accepted as icons, by the type their bytes
// show, whatever the upload claims: formats a browser shows and no script
// can hide in.
var iconTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true}

// UploadIcon stores an uploaded icon, serves it from the instance, and
// sends the group's new profile to the members' servers.
func (p *Pages) UploadIcon(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	icon, problem := readIcon(r)
	if problem != "" {
		p.groupProfile(w, r, http.StatusBadRequest, problem, nil)
		return
	}
	var stored storage.Icon
	err := p.store.Update(r.Context(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(name)
		if err != nil {
			return err
		}
		stored, err = tx.SetGroupIcon(g.ID, icon)
		return err
	})
	if err != nil {
		p.showTab(w, r, 0, "", nil, err)
		return
	}
	// The address changes with each upload, so that servers and browsers
	// that kept the old icon fetch the new one.
	iconURL := p.iris.Group(name) + "/icon?v=" + strconv.FormatInt(stored.UpdatedAt.UnixMilli(), 10)
	if _, err := p.fed.UpdateGroup(r.Context(), name, func(g *storage.Group) { g.IconURL = iconURL }); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, groupConsole(name)+"?done=icon", http.StatusSeeOther)
}

// readIcon reads the uploaded icon and says what is wrong with it, if
// anything.
func readIcon(r *http.Request) (storage.Icon, string) {
	file, _, err := r.FormFile("icon")
	if err != nil {
		return storage.Icon{}, "Choose an image to upload."
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxIconBytes+1))
	switch {
	case err != nil:
		return storage.Icon{}, "The upload did not arrive whole."
	case len(data) > maxIconBytes:
		return storage.Icon{}, fmt.Sprintf("The image is larger than %d KB.", maxIconBytes>>10)
	}
	mediaType := http.DetectContentType(data)
	if !iconTypes[mediaType] {
		return storage.Icon{}, "An icon is a PNG, JPEG or GIF image."
	}
	size, _, err := image.DecodeConfig(bytes.NewReader(data))
	switch {
	case err != nil:
		return storage.Icon{}, "The image could not be read."
	case size.Width > maxIconSide || size.Height > maxIconSide || size.Width == 0 || size.Height == 0:
		return storage.Icon{}, fmt.Sprintf("An icon is at most %d pixels on each side.", maxIconSide)
	}
	return storage.Icon{MediaType: mediaType, Data: data}, ""
}

type settingsPage struct {
	frame
	Host        string
	Name        string
	Description string
}

// Settings shows the instance's name and description for editing.
func (p *Pages) Settings(w http.ResponseWriter, r *http.Request) {
	page := settingsPage{frame: consoleFrame(r, "settings"), Host: p.iris.Host()}
	err := p.store.View(r.Context(), func(tx *storage.Tx) error {
		profile, err := tx.InstanceProfile()
		page.Name, page.Description = profile.Name, profile.Description
		return err
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "admin_settings.html", &page)
}

// SaveSettings saves the instance's name and description.
func (p *Pages) SaveSettings(w http.ResponseWriter, r *http.Request) {
	page := settingsPage{frame: consoleFrame(r, "settings"), Host: p.iris.Host(),
		Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description"))}
	if !validText(page.Name, maxInstanceName) || !validText(page.Description, maxDescription) {
		page.Error = "The name or the description is too long."
		p.render(w, r, http.StatusBadRequest, "admin_settings.html", &page)
		return
	}
	err := p.store.Update(r.Context(), func(tx *storage.Tx) error {
		return tx.SetInstanceProfile(storage.InstanceProfile{Name: page.Name, Description: page.Description})
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, consolePath+"/settings?done=saved", http.StatusSeeOther)
}

// hostsListed bounds the servers the federation page lists.
const hostsListed = 100

type federationPage struct {
	frame
	Tab   string
	Queue storage.QueueStats
	Hosts []storage.Host
	Chart chart
	Now   time.Time
}

// Federation shows the health of deliveries: the queue, the servers with
// deliveries waiting or failing, and a chart of the last day's attempts.
func (p *Pages) Federation(w http.ResponseWriter, r *http.Request) {
	page := federationPage{frame: consoleFrame(r, "federation"), Tab: "deliveries"}
	var hours []storage.HourCount
	err := p.store.View(r.Context(), func(tx *storage.Tx) (err error) {
		page.Now = tx.Now()
		if page.Queue, err = tx.QueueStats(); err != nil {
			return err
		}
		if page.Hosts, err = tx.DeliveryHosts(hostsListed); err != nil {
			return err
		}
		hours, err = tx.DeliveryHours(page.Now.Add(-(chartHours - 1) * time.Hour))
		return err
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.Chart = deliveryChart(hours, page.Now)
	p.render(w, r, http.StatusOK, "admin_federation.html", &page)
}
